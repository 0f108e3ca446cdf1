"""The bank's domain: its scenario (banks, PSUs, accounts, TPPs, fault rules), its clock, and the rules of a
funds check, as plain data and functions that know nothing of HTTP."""
