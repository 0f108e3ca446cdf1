"""mock-aspsp: a faithful offline sandbox of a French bank's STET PSD2 funds-availability API."""

__version__ = "0.1.0"
