"""The viewer: a live mosaic of every actor's game screen plus training charts."""
