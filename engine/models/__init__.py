"""The models FusionPaint offers, one file each: every module here calls `engine.model_spec.register_model` when
imported, and `engine.registry` imports them all. A network's layers live in `engine.networks` (imported only when
the network is built, so the editor starts without PyTorch); its file here holds its spec and how to run it."""
