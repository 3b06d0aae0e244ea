"""Three layers, each importing only those below: runtime (both apps), spec, harness."""
