"""Records of processing (Verarbeitungsverzeichnis, GDPR Art. 30 input; issue 6 item 8)."""
