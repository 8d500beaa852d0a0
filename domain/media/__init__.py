"""Photos, videos and screenshots: fingerprints, the index of recorded pictures, OCR."""
