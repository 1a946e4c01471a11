"""Sentence encoding and the bucketing language-model iterator of MXNet's ``mx.rnn``."""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ndarray
from ..base import MXNetError
from ..io import DataBatch, DataDesc, DataIter

__all__ = ["encode_sentences", "BucketSentenceIter"]


def encode_sentences(sentences: Sequence[Sequence[str]], vocab: dict[str, int] | None = None,
                     invalid_label: int = -1, invalid_key: str = "\n", start_label: int = 0,
                     unknown_token: str | None = None
                     ) -> tuple[list[list[int]], dict[str, int]]:
    """Encode tokenized sentences as integer indices, building the vocabulary as it goes.

    Parameters
    ----------
    sentences : list of list of str
        The sentences, each a list of tokens.
    vocab : dict of str to int, optional
        A vocabulary to start from. Without one a new vocabulary is built (holding
        ``invalid_key -> invalid_label``) and every new token gets the next index; with one,
        a token not in it is an error unless ``unknown_token`` is given.
    invalid_label : int, default -1
        Index of the invalid token (e.g. end of sentence); never handed to another token.
    invalid_key : str, default '\\n'
        The invalid token.
    start_label : int, default 0
        The first index handed out.
    unknown_token : str, optional
        Token that every unknown token becomes (it is added to the vocabulary if missing);
        unknown tokens are an error if None and ``vocab`` was given.

    Returns
    -------
    result : list of list of int
        The encoded sentences.
    vocab : dict of str to int
        The vocabulary, including the tokens added.
    """
    if vocab is None:
        vocab = {invalid_key: invalid_label}
        new_vocab = True
    elif not isinstance(vocab, dict):
        raise MXNetError(f"encode_sentences: vocab must be a dict or None, got "
                         f"{type(vocab).__name__}")
    else:
        new_vocab = False
    idx = start_label
    result = []
    for sent in sentences:
        coded = []
        for word in sent:
            if word not in vocab:
                if not (new_vocab or unknown_token):
                    raise MXNetError(f"encode_sentences: unknown token {word!r} (not in vocab "
                                     "and no unknown_token given)")
                if idx == invalid_label:
                    idx += 1
                if unknown_token:
                    word = unknown_token
                # as in MXNet, an unknown token that maps to unknown_token re-assigns it
                vocab[word] = idx
                idx += 1
            coded.append(vocab[word])
        result.append(coded)
    return result, vocab


class BucketSentenceIter(DataIter):
    """Bucketing iterator for language models: each sentence goes, padded with
    ``invalid_label``, to the smallest bucket it fits, and every batch holds sentences of one
    bucket (``bucket_key`` is the bucket length). The label at each step is the next token.

    Batches come in a random order and the sentences of each bucket are shuffled at every
    :meth:`reset` (with ``random.shuffle`` and ``np.random.shuffle``); leftover sentences that
    do not fill a batch are skipped, and sentences longer than the largest bucket discarded.

    Parameters
    ----------
    sentences : list of list of int
        Encoded sentences.
    batch_size : int
        Number of sentences per batch.
    buckets : list of int, optional
        Bucket lengths. If None, every sentence length that at least ``batch_size``
        sentences have.
    invalid_label : int, default -1
        Padding value, also the label of each sentence's last step.
    data_name : str, default 'data'
        Name of the data.
    label_name : str, default 'softmax_label'
        Name of the label.
    dtype : str, default 'float32'
        Type of the data and label arrays.
    layout : str, default 'NT'
        'NT' for (batch_size, length) batches, 'TN' for (length, batch_size).
    """

    def __init__(self, sentences: Sequence[Sequence[int]], batch_size: int,
                 buckets: Sequence[int] | None = None, invalid_label: int = -1,
                 data_name: str = "data", label_name: str = "softmax_label",
                 dtype: Any = "float32", layout: str = "NT"):
        super().__init__()
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise MXNetError(f"BucketSentenceIter: batch_size must be a positive integer, "
                             f"got {batch_size!r}")
        # as MXNet, any layout whose batch axis 'N' comes first or second is taken
        if not isinstance(layout, str) or layout.find("N") not in (0, 1):
            raise MXNetError(f"BucketSentenceIter: invalid layout {layout!r}: must be NT "
                             "(batch major) or TN (time major)")
        if not buckets:
            counts = np.bincount([len(s) for s in sentences]) if len(sentences) else []
            buckets = [length for length, n in enumerate(counts) if n >= batch_size]
        buckets = sorted(buckets)

        per_bucket: list[list[np.ndarray]] = [[] for _ in buckets]
        discarded = 0
        for sent in sentences:
            b = bisect.bisect_left(buckets, len(sent))
            if b == len(buckets):
                discarded += 1
                continue
            padded = np.full((buckets[b],), invalid_label, dtype=dtype)
            padded[:len(sent)] = sent
            per_bucket[b].append(padded)
        # buckets no sentence went to are dropped, with their (empty) data
        buckets = [length for length, rows in zip(buckets, per_bucket) if rows]
        self.data = [np.asarray(rows, dtype=dtype) for rows in per_bucket if rows]
        if not buckets:
            raise MXNetError("BucketSentenceIter: no bucket holds any sentence (sentences is "
                             "empty, or buckets are all shorter than the sentences)")

        print(f"WARNING: discarded {discarded} sentences longer than the largest bucket.")

        self.batch_size = batch_size
        self.buckets = buckets
        self.data_name = data_name
        self.label_name = label_name
        self.dtype = dtype
        self.invalid_label = invalid_label
        self.nddata: list[ndarray.NDArray] = []
        self.ndlabel: list[ndarray.NDArray] = []
        self.major_axis = layout.find("N")
        self.layout = layout
        self.default_bucket_key = max(buckets)

        shape = (batch_size, self.default_bucket_key) if self.major_axis == 0 \
            else (self.default_bucket_key, batch_size)
        self.provide_data = [DataDesc(name=data_name, shape=shape, layout=layout)]
        self.provide_label = [DataDesc(name=label_name, shape=shape, layout=layout)]

        self.idx = [(i, j) for i, rows in enumerate(self.data)
                    for j in range(0, len(rows) - batch_size + 1, batch_size)]
        self.curr_idx = 0
        self.reset()

    def reset(self) -> None:
        """Start a new epoch: reshuffle the batch order and each bucket's sentences."""
        self.curr_idx = 0
        random.shuffle(self.idx)
        for rows in self.data:
            np.random.shuffle(rows)
        self.nddata = []
        self.ndlabel = []
        for rows in self.data:
            label = np.empty_like(rows)
            label[:, :-1] = rows[:, 1:]
            label[:, -1] = self.invalid_label
            self.nddata.append(ndarray.array(rows, dtype=self.dtype))
            self.ndlabel.append(ndarray.array(label, dtype=self.dtype))

    def next(self) -> DataBatch:
        """The next batch (``bucket_key`` set, ``pad`` 0); ``StopIteration`` at the end."""
        if self.curr_idx == len(self.idx):
            raise StopIteration
        i, j = self.idx[self.curr_idx]
        self.curr_idx += 1
        data = self.nddata[i][j:j + self.batch_size]
        label = self.ndlabel[i][j:j + self.batch_size]
        if self.major_axis == 1:
            data, label = data.T, label.T
        return DataBatch([data], [label], pad=0, bucket_key=self.buckets[i],
                         provide_data=[DataDesc(name=self.data_name, shape=data.shape,
                                                layout=self.layout)],
                         provide_label=[DataDesc(name=self.label_name, shape=label.shape,
                                                 layout=self.layout)])
