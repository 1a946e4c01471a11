"""Recurrent layers: the fused ``RNN`` operator and ``_rnn_param_concat``.

``RNN`` runs a stack of ``num_layers`` recurrent layers (``rnn_relu``, ``rnn_tanh``, ``lstm``,
``gru``), each one- or two-directional, over data laid out ``(T, N, C)``. Its parameters come
packed in one vector the way MXNet and cuDNN pack them: first every weight, layer by layer and
within a layer direction by direction (``i2h`` ``(G*H, C_in)``, ``h2h`` ``(G*H, H_r)`` and, for
an LSTM with ``projection_size``, ``h2r`` ``(P, H)``), then every bias likewise (``i2h``,
``h2h``, each ``(G*H,)``). Gates are ordered i, f, g, o (LSTM) and r, z, n (GRU, whose reset
gate scales ``h2h``'s output including its bias, as cuDNN's does).

The kernels are vectorised over the batch and the directions: the input projection of a whole
layer is one GEMM over every time step and both directions, each step is one batched GEMM for
the recurrent term plus a handful of element-wise passes, and the backward pass (BPTT) keeps the
per-step work as small by precomputing the gates' local derivatives for all steps at once and
leaving the weight gradients to one GEMM per direction after the loop.

Two features behave as MXNet's cuDNN implementation defines them, where MXNet 1.9.1's CPU
build silently ignores them: with ``use_sequence_length`` each sequence stops at its length
(outputs past it are zero, ``hy``/``cy`` are the states at its last step, and the reverse
direction starts from that step), and ``lstm_state_clip_min/max`` clip the cell state after
every step (``lstm_state_clip_nan`` turns a NaN cell into the lower bound). Dropout (``p``)
acts on each layer's output but the last's, in training only.
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError
from ._util import (
    BOOL,
    FLOAT,
    INT,
    OPT_FLOAT,
    OPT_INT,
    P,
    assign,
    assign_type,
    declare,
    enum,
    fail,
    size_of,
)
from .registry import Attrs
from .tensor import _concat_backward, _concat_forward

NO_BACKWARD: set[str] = set()

_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


# ----------------------------------------------------------------------------------------
# Configuration and the packed parameter layout.


class _Config:
    """The sizes one ``RNN`` node works with, checked once."""

    __slots__ = ("mode", "L", "D", "H", "Hs", "G", "proj", "clip", "clip_nan", "p")

    def __init__(self, attrs: Attrs):
        self.mode = attrs.mode
        self.L, self.H = attrs.num_layers, attrs.state_size
        self.D = 2 if attrs.bidirectional else 1
        self.G = _GATES[self.mode]
        self.proj = attrs.projection_size
        if self.L <= 0:
            raise fail(attrs, f"num_layers={self.L} must be positive")
        if self.H <= 0:
            raise fail(attrs, f"state_size={self.H} must be positive")
        if not 0 <= attrs.p <= 1:
            raise fail(attrs, f"p={attrs.p} must be in [0, 1]")
        if self.proj is not None:
            if self.mode != "lstm":
                raise fail(attrs, f"projection_size is supported for mode='lstm' only, not "
                                  f"mode={self.mode!r}")
            if not 0 < self.proj < self.H:
                raise fail(attrs, f"projection_size={self.proj} must be in [1, state_size)")
        self.Hs = self.proj or self.H  # the recurrent state's (and the output's) width
        lo, hi = attrs.lstm_state_clip_min, attrs.lstm_state_clip_max
        if (lo is None) != (hi is None):
            raise fail(attrs, "lstm_state_clip_min and lstm_state_clip_max must be given "
                              "together")
        if lo is not None and lo > hi:
            raise fail(attrs, f"lstm_state_clip_min={lo} exceeds lstm_state_clip_max={hi}")
        self.clip = None if lo is None or self.mode != "lstm" else (lo, hi)
        self.clip_nan = attrs.lstm_state_clip_nan
        self.p = attrs.p

    def layer_input(self, layer: int, input_size: int) -> int:
        return input_size if layer == 0 else self.D * self.Hs

    def pieces(self, input_size: int) -> list[list[dict[str, tuple[int, tuple]]]]:
        """``[layer][direction] -> {name: (offset, shape)}`` in the packed vector."""
        gh = self.G * self.H
        out: list[list[dict]] = []
        pos = 0
        for layer in range(self.L):
            dirs = []
            for _ in range(self.D):
                d = {"wx": (pos, (gh, self.layer_input(layer, input_size)))}
                pos += size_of(d["wx"][1])
                d["wh"] = (pos, (gh, self.Hs))
                pos += gh * self.Hs
                if self.proj:
                    d["wr"] = (pos, (self.proj, self.H))
                    pos += self.proj * self.H
                dirs.append(d)
            out.append(dirs)
        for layer in range(self.L):
            for d in out[layer]:
                d["bx"] = (pos, (gh,))
                d["bh"] = (pos + gh, (gh,))
                pos += 2 * gh
        return out

    def param_size(self, input_size: int) -> int:
        gh = self.G * self.H
        total = 0
        for layer in range(self.L):
            per_dir = gh * (self.layer_input(layer, input_size) + self.Hs + 2)
            if self.proj:
                per_dir += self.proj * self.H
            total += self.D * per_dir
        return total


def _config(attrs: Attrs) -> _Config:
    return _Config(attrs)


def _inputs(attrs: Attrs) -> tuple[str, ...]:
    if attrs.mode is None:  # no mode yet (the generic signature): every input it can take
        return ("data", "parameters", "state", "state_cell", "sequence_length")
    names = ["data", "parameters", "state"]
    if attrs.mode == "lstm":
        names.append("state_cell")
    if attrs.use_sequence_length:
        names.append("sequence_length")
    return tuple(names)


def _outputs(attrs: Attrs) -> tuple[str, ...]:
    if not attrs.state_outputs:
        return ("output",)
    return ("output", "state_output", "statecell_output") if attrs.mode == "lstm" \
        else ("output", "state_output")


def _rnn_shape(attrs: Attrs, ins: list, outs: list):
    cfg = _config(attrs)
    names = list(_inputs(attrs))
    out_names = list(_outputs(attrs))
    d = ins[0]
    if d is None:
        return ins, outs
    if len(d) != 3:
        raise fail(attrs, f"data must be 3-D (sequence length, batch, input size), got {d}")
    t, n, c = d
    if c:
        assign(attrs, ins, 1, (cfg.param_size(c),), names)
    lnd = cfg.L * cfg.D
    assign(attrs, ins, 2, (lnd, n, cfg.Hs), names)
    k = 3
    if cfg.mode == "lstm":
        assign(attrs, ins, 3, (lnd, n, cfg.H), names)
        k = 4
    if attrs.use_sequence_length:
        assign(attrs, ins, k, (n,), names)
    assign(attrs, outs, 0, (t, n, cfg.D * cfg.Hs), out_names)
    if attrs.state_outputs:
        assign(attrs, outs, 1, (lnd, n, cfg.Hs), out_names)
        if cfg.mode == "lstm":
            assign(attrs, outs, 2, (lnd, n, cfg.H), out_names)
    return ins, outs


def _rnn_type(attrs: Attrs, ins: list, outs: list):
    names = list(_inputs(attrs))
    n_float = len(names) - (1 if attrs.use_sequence_length else 0)
    t = next((x for x in ins[:n_float] if x is not None), None)
    if t is None:
        t = next((x for x in outs if x is not None), None)
    if t is None:
        return ins, outs
    for i in range(n_float):
        assign_type(attrs, ins, i, t, names)
    if attrs.use_sequence_length and ins[-1] is None:
        ins[-1] = np.dtype(t)
    out_names = list(_outputs(attrs))
    for i in range(len(outs)):
        assign_type(attrs, outs, i, t, out_names)
    return ins, outs


# ----------------------------------------------------------------------------------------
# One layer, every direction at once.
#
# A layer's per-step arrays are laid out (T, D, X, N): step s of direction d is [s, d], a
# contiguous (X, N) block, features first. The recurrent GEMM of a step is then W (G*H, H_r) @
# h (H_r, N), the shape BLAS runs fastest for a small batch (about a third faster than
# h^T W^T). Direction 1 walks its sequence backwards: its step s reads time T-1-s (or
# L_n-1-s for a sequence of length L_n).


class _Seq:
    """Per-step masks and the time order of the reverse direction for a batch of lengths."""

    def __init__(self, lengths: np.ndarray | None, t: int, n: int):
        self.t, self.n = t, n
        self.mask = None  # (T, N, 1) booleans: step s of sequence n is real
        self.step_mask = None  # the same as (T, 1, 1, N), for (D, X, N) step blocks
        self.rev = None  # (T, N) time read at reverse step s
        if lengths is None:
            return
        lens = np.asarray(lengths)
        if lens.shape != (n,):
            raise MXNetError(f"operator RNN: sequence_length must have shape ({n},), got "
                             f"{lens.shape}")
        if not np.all(np.isfinite(lens)) or np.any(lens != np.round(lens)) \
                or np.any(lens < 1) or np.any(lens > t):
            raise MXNetError(f"operator RNN: sequence_length must hold integers in [1, {t}] "
                             f"(the sequence length of data), got {lens.tolist()}")
        lens = lens.astype(np.int64)
        if np.all(lens == t):
            return
        steps = np.arange(t)[:, None]
        real = steps < lens[None, :]
        self.mask = real[:, :, None]
        self.step_mask = real[:, None, None, :]
        self.rev = np.where(real, lens[None, :] - 1 - steps, steps)

    def in_order(self, a: np.ndarray, d: int) -> np.ndarray:
        """``a`` (T, N, ...) in direction ``d``'s step order (the reordering is its own
        inverse)."""
        if d == 0:
            return a
        if self.rev is None:
            return a[::-1]
        return a[self.rev, np.arange(self.n)[None, :]]

    def in_order_last(self, a: np.ndarray, d: int) -> np.ndarray:
        """The same for ``a`` (..., T, N)."""
        if d == 0:
            return a
        if self.rev is None:
            return a[..., ::-1, :]
        return a[..., self.rev, np.arange(self.n)[None, :]]


def _mm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a[d] @ b[d]`` into ``out[d]`` for each direction: one plain 2-D GEMM each, which
    BLAS runs faster than numpy's stacked matmul of the same shapes."""
    for d in range(a.shape[0]):
        np.matmul(a[d], b[d], out=out[d])
    return out


def _sum_steps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum over steps s of a[s] @ b[s].T for (T, X, N) and (T, Y, N): one GEMM."""
    return np.tensordot(a, b, axes=([0, 2], [0, 2]))


def _sigmoid_pre(w: np.ndarray, k: int) -> np.ndarray:
    """Rows of the first ``k`` gates halved: sigmoid(z) = (1 + tanh(z / 2)) / 2 then takes
    one tanh pass over every gate of a step."""
    w = w.copy()
    w[:k] *= 0.5
    return w


class _Layer:
    """Forward state of one layer (all directions), kept for its backward pass."""

    def __init__(self, cfg: _Config, seq: _Seq, flat: np.ndarray, pieces: list[dict],
                 x: np.ndarray, h0: np.ndarray, c0: np.ndarray | None):
        self.cfg, self.seq, self.x = cfg, seq, x
        self.t, self.n = x.shape[0], x.shape[1]
        H = cfg.H

        def get(d, name):
            off, shape = pieces[d][name]
            return flat[off:off + size_of(shape)].reshape(shape)

        D = cfg.D
        self.wx = [get(d, "wx") for d in range(D)]
        self.wh = [get(d, "wh") for d in range(D)]
        self.wr = [get(d, "wr") for d in range(D)] if cfg.proj else None
        self.bx = [get(d, "bx") for d in range(D)]
        self.bh = [get(d, "bh") for d in range(D)]
        # The internal gate order puts the sigmoid gates first: LSTM i, f, o, g.
        if cfg.mode == "lstm":
            self.perm = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
            self.n_sig = 3 * H
        else:
            self.perm = None
            self.n_sig = 2 * H if cfg.mode == "gru" else 0
        self.h0, self.c0 = h0, c0
        self._run()

    def _internal(self, w: np.ndarray) -> np.ndarray:
        return w if self.perm is None else w[self.perm]

    def _run(self) -> None:
        cfg, seq = self.cfg, self.seq
        T, N, D, H, Hs, G = self.t, self.n, cfg.D, cfg.H, cfg.Hs, cfg.G
        gh = G * H
        k = self.n_sig
        dt = self.x.dtype
        # The input projection of every step and direction: one GEMM, (D*G*H, T*N).
        wx_all = np.concatenate([_sigmoid_pre(self._internal(w), k) for w in self.wx])
        proj = (wx_all @ self.x.reshape(T * N, -1).T).reshape(D, gh, T, N)
        srcs = []  # per direction, (gh, T, N) in its step order, biases added
        for d in range(D):
            b = self._internal(self.bx[d]).copy()
            if cfg.mode != "gru":  # GRU keeps h2h's bias inside the reset gate's product
                b += self._internal(self.bh[d])
            b[:k] *= 0.5
            src = seq.in_order_last(proj[d], d)
            src += b[:, None, None]
            srcs.append(src)
        self._srcs = srcs
        gates = np.empty((T, D, gh, N), dt)
        wh = np.stack([_sigmoid_pre(self._internal(w), k) for w in self.wh])  # (D, gh, Hs)
        hs = np.empty((T + 1, D, Hs, N), dt)
        hs[0] = self.h0.transpose(0, 2, 1)
        mask = seq.step_mask
        tmp = np.empty((D, gh, N), dt)
        self.hs, self.gates = hs, gates
        if cfg.mode == "lstm":
            self._run_lstm(wh, tmp)
        elif cfg.mode == "gru":
            bh = np.stack([_sigmoid_pre(b, k) for b in self.bh])[:, :, None]  # (D, gh, 1)
            hn = np.empty((T, D, H, N), dt)
            t2 = np.empty((D, H, N), dt)
            for s in range(T):
                g = gates[s]
                _mm(wh, hs[s], tmp)
                tmp += bh
                for d in range(D):
                    np.add(srcs[d][:k, s], tmp[d, :k], out=g[d, :k])
                    g[d, k:] = srcs[d][k:, s]
                sig = g[:, :k]
                np.tanh(sig, out=sig)
                sig *= 0.5
                sig += 0.5
                r, z, nn = g[:, :H], g[:, H:k], g[:, k:]
                hn[s] = tmp[:, k:]
                np.multiply(r, hn[s], out=t2)
                nn += t2
                np.tanh(nn, out=nn)
                h = hs[s + 1]
                np.subtract(hs[s], nn, out=h)
                h *= z
                h += nn
                if mask is not None:
                    np.copyto(h, hs[s], where=~mask[s])
            self.hn = hn
        else:
            relu = cfg.mode == "rnn_relu"
            for s in range(T):
                g = gates[s]
                _mm(wh, hs[s], tmp)
                self._inject(s, g, tmp)
                h = hs[s + 1]
                if relu:
                    np.maximum(g, 0, out=h)
                else:
                    np.tanh(g, out=h)
                if mask is not None:
                    np.copyto(h, hs[s], where=~mask[s])
            self.gates = None  # backward reads the states alone
        self._srcs = None
        y = np.empty((T, N, D * Hs), dt)
        for d in range(D):
            y[:, :, d * Hs:(d + 1) * Hs] = seq.in_order(hs[1:, d].transpose(0, 2, 1), d)
        if seq.mask is not None:
            y *= seq.mask
        self.y = y

    def _inject(self, s: int, g: np.ndarray, tmp: np.ndarray) -> None:
        """g = step s's input projection + the recurrent term ``tmp``, per direction."""
        for d, src in enumerate(self._srcs):
            np.add(tmp[d], src[:, s], out=g[d])

    def last_states(self) -> tuple[np.ndarray, np.ndarray | None]:
        """hy (D, N, H_r) and cy (D, N, H) of this layer."""
        hy = self.hs[-1].transpose(0, 2, 1)
        return hy, (self.cs[-1].transpose(0, 2, 1) if self.cfg.mode == "lstm" else None)

    def _run_lstm(self, wh: np.ndarray, tmp: np.ndarray) -> None:
        cfg, mask = self.cfg, self.seq.step_mask
        T, D, N, H = self.t, cfg.D, self.n, cfg.H
        dt = self.x.dtype
        gates, hs = self.gates, self.hs
        cs = np.empty((T + 1, D, H, N), dt)
        cs[0] = self.c0.transpose(0, 2, 1)
        tc = np.empty((T, D, H, N), dt)
        hf = np.empty((T, D, H, N), dt) if cfg.proj else None
        wr = np.stack(self.wr) if cfg.proj else None  # (D, P, H)
        inside = np.empty((T, D, H, N), bool) if cfg.clip else None
        t2 = np.empty((D, H, N), dt)
        for s in range(T):
            g = gates[s]
            _mm(wh, hs[s], tmp)
            self._inject(s, g, tmp)
            np.tanh(g, out=g)
            sig = g[:, :3 * H]
            sig *= 0.5
            sig += 0.5
            i, f, o, gg = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            c = cs[s + 1]
            np.multiply(f, cs[s], out=c)
            np.multiply(i, gg, out=t2)
            c += t2
            if cfg.clip:
                lo, hi = cfg.clip
                np.logical_and(c >= lo, c <= hi, out=inside[s])
                if cfg.clip_nan:
                    np.copyto(c, dt.type(lo), where=np.isnan(c))
                np.clip(c, lo, hi, out=c)
            if mask is not None:
                np.copyto(c, cs[s], where=~mask[s])
            np.tanh(c, out=tc[s])
            if cfg.proj:
                np.multiply(o, tc[s], out=hf[s])
                _mm(wr, hf[s], hs[s + 1])
            else:
                np.multiply(o, tc[s], out=hs[s + 1])
            if mask is not None:
                np.copyto(hs[s + 1], hs[s], where=~mask[s])
        self.cs, self.tc, self.hf, self.inside = cs, tc, hf, inside

    # -- backward ----------------------------------------------------------------------

    def backward(self, dy: np.ndarray, dhy: np.ndarray, dcy: np.ndarray | None,
                 need_dx: bool) -> tuple:
        """Gradients (dx, per-direction weight/bias gradients, dh0, dc0) from the output's
        and the final states' gradients."""
        cfg, seq = self.cfg, self.seq
        T, N, D, H, Hs, G = self.t, self.n, cfg.D, cfg.H, cfg.Hs, cfg.G
        gh = G * H
        dt = self.x.dtype
        mask = seq.step_mask
        dys = np.empty((T, D, Hs, N), dt)
        for d in range(D):
            dys[:, d] = seq.in_order(dy[:, :, d * Hs:(d + 1) * Hs], d).transpose(0, 2, 1)
        if mask is not None:
            dys *= mask  # y = h * mask
        dh = np.array(dhy.transpose(0, 2, 1), dtype=dt)
        # Gradient of each gate's pre-activation (h2h side), (D, gh, T, N): step s is the
        # (gh, N) matrix dg[:, :, s], and a direction's steps form one (gh, T*N) matrix.
        dg = np.empty((D, gh, T, N), dt)
        wh_t = np.stack([self._internal(w).T for w in self.wh])  # (D, Hs, gh)
        dxn = dr = None
        dc = None
        if cfg.mode == "lstm":
            dc = np.array(dcy.transpose(0, 2, 1), dtype=dt)
            dr = self._back_lstm(dys, dh, dc, dg, wh_t)
        elif cfg.mode == "gru":
            dxn = self._back_gru(dys, dh, dg, wh_t)
        else:
            hs = self.hs[1:]
            local = (hs > 0).astype(dt) if cfg.mode == "rnn_relu" else 1 - np.square(hs)
            for s in range(T - 1, -1, -1):
                g = dys[s]
                g += dh
                row = dg[:, :, s]
                if mask is None:
                    np.multiply(g, local[s], out=row)
                    _mm(wh_t, row, dh)
                else:
                    m = mask[s]
                    np.multiply(g * m, local[s], out=row)
                    dh = _mm(wh_t, row, np.empty_like(dh)) + g * ~m
        # Weight gradients: one GEMM per direction over every step.
        grads = []
        for d in range(D):
            hs_t = self.hs[:-1, d].transpose(0, 2, 1).reshape(T * N, Hs)
            gd = {"wh": dg[d].reshape(gh, T * N) @ hs_t, "bh": dg[d].sum(axis=(1, 2)),
                  "wr": None if dr is None else _sum_steps(dr[:, d], self.hf[:, d])}
            grads.append(gd)
        # The input projection's gradient in time order: dg itself when it is (GRU: the
        # input side of the new gate has its own gradient).
        if D == 1 and dxn is None:
            dpt = dg
        else:
            dpt = np.empty((D, gh, T, N), dt)
            for d in range(D):
                dpt[d] = seq.in_order_last(dg[d], d)
                if dxn is not None:
                    dpt[d, 2 * H:] = seq.in_order_last(dxn[d], d)
        dp2 = dpt.reshape(D * gh, T * N)
        x2 = self.x.reshape(T * N, -1)
        dwx_all = dp2 @ x2
        dbx_all = dp2.sum(axis=1)
        dx = None
        if need_dx:
            wx_all = np.concatenate([self._internal(w) for w in self.wx])
            dx = (dp2.T @ wx_all).reshape(self.x.shape)
        for d in range(D):
            gd = grads[d]
            gd["wx"] = self._external(dwx_all[d * gh:(d + 1) * gh])
            gd["bx"] = self._external(dbx_all[d * gh:(d + 1) * gh])
            gd["wh"] = self._external(gd["wh"])
            gd["bh"] = self._external(gd["bh"])
        return (dx, grads, dh.transpose(0, 2, 1),
                None if dc is None else dc.transpose(0, 2, 1))

    def _external(self, g: np.ndarray) -> np.ndarray:
        if self.perm is None:
            return g
        out = np.empty_like(g)
        out[self.perm] = g
        return out

    def _back_lstm(self, dys, dh, dc, dg, wh_t):
        cfg, mask = self.cfg, self.seq.step_mask
        T, D, N, H = self.t, cfg.D, self.n, cfg.H
        g = self.gates
        i, f, o, gg = g[:, :, :H], g[:, :, H:2 * H], g[:, :, 2 * H:3 * H], g[:, :, 3 * H:]
        tc = self.tc
        # Local derivatives of every step at once: dc/dh and each gate's d/d(pre-activation)
        # per unit of dc (or of dh for the output gate).
        dc_dh = o * (1 - np.square(tc))
        local = np.empty((T, D, 4, H, N), g.dtype)
        local[:, :, 0] = gg * i * (1 - i)
        local[:, :, 1] = self.cs[:-1] * f * (1 - f)
        local[:, :, 2] = tc * o * (1 - o)
        local[:, :, 3] = i * (1 - np.square(gg))
        dg4 = dg.reshape(D, 4, H, T, N)
        wr_t = np.stack([w.T for w in self.wr]) if cfg.proj else None  # (D, H, P)
        dr = np.empty_like(dys) if cfg.proj else None
        full = np.empty((D, H, N), g.dtype) if cfg.proj else None
        inside = self.inside
        for s in range(T - 1, -1, -1):
            dh_s = dys[s]
            dh_s += dh
            if mask is not None:
                m = mask[s]
                keep_h = dh_s * ~m
                dh_s *= m
            if dr is not None:
                dr[s] = dh_s
                dh_s = _mm(wr_t, dh_s, full)
            c = dc + dh_s * dc_dh[s]
            if mask is not None:
                keep_c = c * ~m
                c *= m
            if inside is not None:
                c *= inside[s]
            np.multiply(local[s], c[:, None], out=dg4[:, :, :, s])
            np.multiply(local[s, :, 2], dh_s, out=dg4[:, 2, :, s])
            np.multiply(c, f[s], out=dc)
            _mm(wh_t, dg[:, :, s], dh)
            if mask is not None:
                dc += keep_c
                dh += keep_h
        return dr

    def _back_gru(self, dys, dh, dg, wh_t):
        mask = self.seq.step_mask
        H = self.cfg.H
        g = self.gates
        r, z, nn = g[:, :, :H], g[:, :, H:2 * H], g[:, :, 2 * H:]
        hn = self.hn
        d_n = (1 - z) * (1 - np.square(nn))  # dn_pre per unit of dh
        d_z = (self.hs[:-1] - nn) * z * (1 - z)  # dz_pre per unit of dh
        d_r = hn * r * (1 - r)  # dr_pre per unit of dn_pre
        dxn = np.empty((self.cfg.D, H, self.t, self.n), nn.dtype)  # like dg
        for s in range(self.t - 1, -1, -1):
            gs = dys[s]
            gs += dh
            if mask is not None:
                m = mask[s]
                keep = gs * ~m
                gs *= m
            dn = dxn[:, :, s]
            np.multiply(gs, d_n[s], out=dn)
            row = dg[:, :, s]
            np.multiply(dn, d_r[s], out=row[:, :H])
            np.multiply(gs, d_z[s], out=row[:, H:2 * H])
            np.multiply(dn, r[s], out=row[:, 2 * H:])
            _mm(wh_t, row, dh)
            gs *= z[s]
            dh += gs
            if mask is not None:
                dh += keep
        return dxn


# ----------------------------------------------------------------------------------------
# The operator.


def _acc(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype.kind == "f" and x.dtype.itemsize < 4 else x


def _rnn_forward(attrs, inputs, ctx):
    cfg = _config(attrs)
    data = inputs[0]
    if data.ndim != 3:
        raise fail(attrs, f"data must be 3-D (sequence length, batch, input size), got "
                          f"{data.shape}")
    if 0 in data.shape:
        raise fail(attrs, f"data of shape {data.shape} is empty (sequence length, batch and "
                          "input size must be positive)")
    x = _acc(data)
    T, N, C = x.shape
    flat = _acc(inputs[1]).reshape(-1)
    if flat.size != cfg.param_size(C):
        raise fail(attrs, f"parameters hold {flat.size} values, {cfg.param_size(C)} expected "
                          f"for input size {C}")
    hx = _acc(inputs[2])
    cx = _acc(inputs[3]) if cfg.mode == "lstm" else None
    lengths = inputs[-1] if attrs.use_sequence_length else None
    seq = _Seq(lengths, T, N)
    pieces = cfg.pieces(C)
    drop = ctx.is_train and cfg.p > 0
    rng = ctx.rng if ctx.rng is not None else np.random.default_rng()
    layers, masks = [], []
    D = cfg.D
    for layer in range(cfg.L):
        st = slice(layer * D, (layer + 1) * D)
        lay = _Layer(cfg, seq, flat, pieces[layer], x, hx[st],
                     None if cx is None else cx[st])
        layers.append(lay)
        x = lay.y
        if drop and layer < cfg.L - 1:
            keep = 1 - cfg.p
            m = (rng.random(x.shape, dtype=np.float32) < keep).astype(x.dtype)
            m *= 1 / keep if keep > 0 else 0
            masks.append(m)
            x = x * m
        else:
            masks.append(None)
    ctx.saved["rnn"] = (layers, masks, seq)
    dt = data.dtype
    outs = [x.astype(dt, copy=False)]
    if attrs.state_outputs:
        outs.append(np.concatenate([lay.last_states()[0] for lay in layers]).astype(
            dt, copy=False))
        if cfg.mode == "lstm":
            outs.append(np.concatenate([lay.last_states()[1] for lay in layers]).astype(
                dt, copy=False))
    return outs


def _rnn_backward(attrs, out_grads, inputs, outputs, ctx):
    cfg = _config(attrs)
    layers, masks, seq = ctx.saved["rnn"]
    D = cfg.D
    T, N, C = inputs[0].shape
    dy = _acc(out_grads[0])
    dt = layers[0].x.dtype
    lnd = cfg.L * D
    zeros_h = np.zeros((lnd, N, cfg.Hs), dt)
    dhy = _acc(out_grads[1]) if attrs.state_outputs else zeros_h
    dcy = None
    if cfg.mode == "lstm":
        dcy = _acc(out_grads[2]) if attrs.state_outputs else np.zeros((lnd, N, cfg.H), dt)
    pieces = cfg.pieces(C)
    dflat = np.zeros(cfg.param_size(C), dt)
    dhx = np.empty((lnd, N, cfg.Hs), dt)
    dcx = np.empty((lnd, N, cfg.H), dt) if cfg.mode == "lstm" else None
    for layer in range(cfg.L - 1, -1, -1):
        st = slice(layer * D, (layer + 1) * D)
        need_dx = layer > 0 or ctx.wants(0)
        dx, grads, dh0, dc0 = layers[layer].backward(
            dy, dhy[st], None if dcy is None else dcy[st], need_dx)
        for d in range(D):
            for name, g in grads[d].items():
                if g is not None:
                    off, shape = pieces[layer][d][name]
                    dflat[off:off + size_of(shape)] = g.reshape(-1)
        dhx[st] = dh0
        if dcx is not None:
            dcx[st] = dc0
        if layer > 0:
            dy = dx if masks[layer - 1] is None else dx * masks[layer - 1]
        else:
            dy = dx
    res = [None if dy is None else dy.astype(inputs[0].dtype, copy=False),
           dflat.astype(inputs[1].dtype, copy=False),
           dhx.astype(inputs[2].dtype, copy=False)]
    if cfg.mode == "lstm":
        res.append(dcx.astype(inputs[3].dtype, copy=False))
    if attrs.use_sequence_length:
        res.append(None)
    return res


declare(
    "RNN", "_npx_rnn",
    params={
        "state_size": P(INT), "num_layers": P(INT), "bidirectional": P(BOOL, False),
        "mode": P(enum("rnn_relu", "rnn_tanh", "lstm", "gru")), "p": P(FLOAT, 0.0),
        "state_outputs": P(BOOL, False), "projection_size": P(OPT_INT, None),
        "lstm_state_clip_min": P(OPT_FLOAT, None), "lstm_state_clip_max": P(OPT_FLOAT, None),
        "lstm_state_clip_nan": P(BOOL, False), "use_sequence_length": P(BOOL, False),
    },
    inputs=_inputs, outputs=_outputs, infer_shape=_rnn_shape, infer_type=_rnn_type,
    forward=_rnn_forward, backward=_rnn_backward,
)


# ----------------------------------------------------------------------------------------
# _rnn_param_concat: Concat whose inference fills in up to two inputs of unknown size from
# the output's (Gluon's RNN layers, whose first weight's input size is deferred).


def _param_concat_shape(attrs: Attrs, ins: list, outs: list):
    names = [f"arg{i}" for i in range(attrs.num_args)]
    common, ax = None, None
    size, unknown = 0, []
    for i, s in enumerate([*ins, outs[0]]):
        if s is None:
            continue
        ax = attrs.dim + len(s) if attrs.dim < 0 else attrs.dim
        if not 0 <= ax < len(s):
            raise fail(attrs, f"dim={attrs.dim} is out of range for a {len(s)}-d input")
        if i < len(ins):
            if s[ax] == 0:
                unknown.append(i)
            else:
                size += s[ax]
        rest = tuple(0 if j == ax else x for j, x in enumerate(s))
        try:
            common = rest if common is None else _merge(common, rest)
        except MXNetError:
            raise fail(attrs, f"input shapes disagree off dim {attrs.dim}: {rest} vs "
                              f"{common}") from None
    if common is None:
        return ins, outs
    for i in range(len(ins)):
        prev = ins[i]
        ins[i] = common if prev is None else _merge(prev, common)
        if prev is None:
            unknown.append(i)
    unknown = sorted(set(unknown))
    if not unknown:
        o = list(common)
        o[ax] = size
        assign(attrs, outs, 0, tuple(o), ["output"])
    else:
        assign(attrs, outs, 0, common, ["output"])
        total = outs[0][ax]
        if total:
            rest = total - size
            if rest < 0:
                raise fail(attrs, f"the inputs' {size} values along dim {attrs.dim} exceed "
                                  f"the output's {total}")
            if len(unknown) > 2:
                raise fail(attrs, f"expecting 1 or 2 inputs that need shape inference, got "
                                  f"{len(unknown)} ({', '.join(names[i] for i in unknown)})")
            for i in unknown:
                s = list(ins[i])
                s[ax] = rest // len(unknown)
                ins[i] = tuple(s)
    return ins, outs


def _merge(a: tuple, b: tuple) -> tuple:
    from .registry import merge_shape

    return merge_shape(a, b)


declare(
    "_rnn_param_concat", "_npi_rnn_param_concat",
    params={"num_args": P(INT), "dim": P(INT, 1)},
    inputs=lambda a: tuple(f"arg{i}" for i in range(a.num_args)), key_var_num_args="num_args",
    infer_shape=_param_concat_shape, forward=_concat_forward, backward=_concat_backward,
)
