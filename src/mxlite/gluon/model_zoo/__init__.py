"""``mx.gluon.model_zoo``: predefined networks (``vision``) and their pretrained files."""

from . import model_store, vision
