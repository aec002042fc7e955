"""The generators' layers (PyTorch), one module each: DFNet (images in [0, 1]) and DMFN (images in [-1, 1]); hole
masks are 1 = hole. What FusionPaint knows about running them lives beside their specs in `engine.models`."""
