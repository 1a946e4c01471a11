"""``mx.image``: read, decode, resize and augment images, and the image iterators
(``ImageIter``, ``ImageDetIter``), as MXNet 1.9.1's ``mxnet.image`` package.

Decoding and resizing run OpenCV (``pip install 'mxlite[image]'``), as MXNet does.
"""

from . import detection, image
from . import detection as det  # noqa: F401
from .detection import *  # noqa: F401,F403
from .image import *  # noqa: F401,F403
