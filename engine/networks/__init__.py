"""Generator networks: DFNet (images in [0,1]) and DMFN (images in [-1,1]); hole masks are 1 = hole."""

from engine.networks.dfnet import DFNet, DFNetOutput
from engine.networks.dmfn import DMFB, DMFNGenerator, DMFNOutput

__all__ = ["DFNet", "DFNetOutput", "DMFB", "DMFNGenerator", "DMFNOutput"]
