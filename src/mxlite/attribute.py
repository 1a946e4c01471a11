"""Placeholder: mx.AttrScope (owned by the Symbol work)."""


class AttrScope:  # replaced by the Symbol work
    pass
