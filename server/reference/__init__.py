"""The bureau's reference data: units, envoys and catalogues loaded, listed and looked up."""
