"""The STET PSD2 funds-availability API, one code path for every version."""
