"""TPP identity as the bank checks it: eIDAS certificates, PSD2 roles and QSealC HTTP signatures."""
