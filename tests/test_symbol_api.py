"""mx.sym semantics against MXNet 1.9.1: naming, scopes, attributes, composition, inference.

Expected values were printed by MXNet 1.9.1 running the same code.
"""

from __future__ import annotations

import copy
import pickle
import threading
import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.symbol import NotImplementedForSymbol


@pytest.fixture(autouse=True)
def fresh_names():
    with mx.name.NameManager():
        yield


def test_auto_names_follow_the_function_called():
    x = mx.sym.Variable('x')
    y = mx.sym.var('y')
    names = [s.name for s in [
        x + y, x + y, x - y, x * y, x / y, x % y, x ** y, -x, 2 ** x, mx.sym.pow(2, x),
        x == 1, x != x, x > 2, x >= x, x < 1, x <= 1, x % 2, 2 % x, abs(x), 3 - x, 3 / x,
        3 + x, 3 * x, x - 3, x / 3, mx.sym.maximum(x, y), mx.sym.minimum(x, 2),
        mx.sym.maximum(2, x)]]
    assert names == [
        '_plus0', '_plus1', '_minus0', '_mul0', '_div0', '_mod0', '_power0', '_mulscalar0',
        '_rpower_scalar0', '_rpowerscalar0', '_equal_scalar0', '_not_equal0',
        '_greater_scalar0', '_greater_equal0', '_lesser_scalar0', '_lesser_equal_scalar0',
        '_modscalar0', '_rmodscalar0', 'abs0', '_rminusscalar0', '_rdivscalar0',
        '_plusscalar0', '_mulscalar1', '_minusscalar0', '_divscalar0', '_maximum0',
        '_minimumscalar0', '_maximumscalar0']
    assert (-x).attr("scalar") == "-1.0"
    assert (x * 2.5).tojson().count('"op": "_mul_scalar"') == 1


def test_name_manager_counts_per_hint_and_per_manager():
    x = mx.sym.Variable('x')
    assert mx.sym.FullyConnected(x, num_hidden=4).name == 'fullyconnected0'
    assert mx.sym.concat(x, x, dim=0).name == 'concat0'
    c = mx.sym.Concat(x, x)
    assert c.name == 'concat1'
    assert c.attr_dict() == {'concat1': {'num_args': '2'}}
    with mx.name.NameManager():
        assert mx.sym.FullyConnected(x, num_hidden=4).name == 'fullyconnected0'
    assert mx.sym.FullyConnected(x, num_hidden=4).name == 'fullyconnected1'
    # a failed creation has used its name, as in MXNet
    with pytest.raises(MXNetError):
        mx.sym.FullyConnected(x, num_hidden=4, foo=1)
    assert mx.sym.FullyConnected(x, num_hidden=4).name == 'fullyconnected3'


def test_prefix_applies_to_operators_not_variables():
    x = mx.sym.Variable('x')
    with mx.name.Prefix('p_'):
        f2 = mx.sym.FullyConnected(x, num_hidden=3)
        v = mx.sym.Variable('v')
        f3 = mx.sym.FullyConnected(v, num_hidden=3, name='named')
    assert f2.list_arguments() == ['x', 'p_fullyconnected0_weight', 'p_fullyconnected0_bias']
    assert v.name == 'v'
    assert f3.list_arguments() == ['v', 'p_named_weight', 'p_named_bias']


def test_name_manager_current_is_deprecated_but_works():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        cur = mx.name.NameManager.current
    assert isinstance(cur, mx.name.NameManager)
    assert any(issubclass(x.category, DeprecationWarning) for x in w)


def test_name_manager_is_per_thread():
    seen = []

    def work():
        seen.append(mx.sym.FullyConnected(mx.sym.var('t'), num_hidden=1).name)

    mx.sym.FullyConnected(mx.sym.var('m'), num_hidden=1)
    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == ['fullyconnected0']


def test_attr_scope_nesting_and_hidden_keys():
    with mx.AttrScope(ctx_group='a', __foo__='1'):
        with mx.AttrScope(ctx_group='b'):
            v2 = mx.sym.Variable('v2', attr={'__bar__': '2'})
            a2 = mx.sym.Activation(v2, act_type='relu', attr={'__baz__': '3'})
        v3 = mx.sym.Variable('v3')
    v4 = mx.sym.Variable('v4')
    assert a2.attr_dict() == {
        'activation0': {'__foo__': '1', 'act_type': 'relu', '__baz__': '3',
                        '__ctx_group__': 'b', 'ctx_group': 'b'},
        'v2': {'__bar__': '2', '__foo__': '1', '__ctx_group__': 'b', 'ctx_group': 'b'}}
    assert a2.list_attr() == {'__baz__': '3', '__ctx_group__': 'b', '__foo__': '1',
                              'act_type': 'relu', 'ctx_group': 'b'}
    assert a2.attr('ctx_group') == 'b' and a2.attr('__ctx_group__') == 'b'
    assert a2.attr('name') == 'activation0' and a2.attr('nope') is None
    assert v3.list_attr() == {'__ctx_group__': 'a', '__foo__': '1', 'ctx_group': 'a'}
    assert v4.list_attr() == {}
    with pytest.raises(ValueError):
        mx.AttrScope(x=1)


def test_scope_attributes_are_copied_to_created_variables():
    x = mx.sym.Variable('x')
    f = mx.sym.FullyConnected(x, num_hidden=3, lr_mult=2, ctx_group='z')
    same = {'num_hidden': '3', '__ctx_group__': 'z', 'ctx_group': 'z', '__lr_mult__': '2',
            'lr_mult': '2'}
    assert f.attr_dict() == {'fullyconnected0_weight': same, 'fullyconnected0_bias': same,
                             'fullyconnected0': same}


def test_variable_hidden_attributes():
    w = mx.sym.Variable('w', shape=(3, 4), lr_mult=2, wd_mult=0.5, dtype='float16',
                        init='["zero", {}]', stype='row_sparse', __extra__=5)
    assert w.list_attr() == {
        '__dtype__': '2', '__extra__': '5', '__init__': '["zero", {}]', '__lr_mult__': '2',
        '__shape__': '(3, 4)', '__storage_type__': '1', '__wd_mult__': '0.5', 'lr_mult': '2',
        'wd_mult': '0.5'}
    w2 = mx.sym.Variable('w2', dtype=np.int32, attr={'ctx_group': 'g', 'lr_mult': '3'})
    assert w2.list_attr() == {'__ctx_group__': 'g', '__dtype__': '4', '__lr_mult__': '3',
                              'ctx_group': 'g', 'lr_mult': '3'}

    class Init:
        def dumps(self):
            return '["one", {}]'

    assert mx.sym.var('i', init=Init()).attr('__init__') == '["one", {}]'
    with pytest.raises(ValueError):
        mx.sym.Variable('w3', foo=1)
    with pytest.raises(ValueError):
        mx.sym.Variable('w3', attr={'a': 1})
    with pytest.raises(MXNetError, match="weight_lr_mult is deprecated"):
        mx.sym.Variable('w3', attr={'weight_lr_mult': '1'})
    with pytest.raises(TypeError):
        mx.sym.Variable(3)


def test_set_attr():
    x = mx.sym.Variable('x')
    x._set_attr(foo='bar')
    x._set_attr(lr_mult='5')
    assert x.list_attr() == {'__lr_mult__': '5', 'lr_mult': '5', 'foo': 'bar'}
    with pytest.raises(ValueError):
        x._set_attr(foo=1)
    with pytest.raises(MXNetError):
        x._set_attr(weight_lr_mult='1')
    g = mx.sym.Group([x, mx.sym.var('y')])
    with pytest.raises(MXNetError):
        g._set_attr(a='b')
    assert g.attr('name') is None and g.name is None
    x._set_attr(name='renamed')
    assert x.name == 'renamed'


def test_parameter_values_are_stored_as_str():
    x = mx.sym.Variable('x')
    assert mx.sym.FullyConnected(x, num_hidden=3, no_bias=np.bool_(True), flatten=0,
                                 name='f').attr_dict()['f'] == {
        'flatten': '0', 'no_bias': 'True', 'num_hidden': '3'}
    assert mx.sym.sum(x, axis=(np.int64(1), 2), name='a').attr('axis') == '(1, 2)'
    assert mx.sym.sum(x, axis=[1, 2], name='b').attr('axis') == '[1, 2]'
    assert mx.sym.sum(x, axis=None, name='c').attr('axis') == 'None'
    assert mx.sym.sum(x, axis=(np.int64(1),), name='d').attr('axis') == '(1,)'
    assert (x * np.float32(0.1)).attr('scalar') == '0.1'
    assert mx.sym.Cast(x, dtype=np.float16).attr('dtype') == 'float16'
    assert mx.sym.Cast(x, dtype='int8').attr('dtype') == 'int8'
    assert mx.sym.BatchNorm(x, eps=2e-5, name='bn').attr('eps') == '2e-05'


def test_creation_errors():
    x = mx.sym.Variable('x')
    with pytest.raises(MXNetError, match="foo"):
        mx.sym.FullyConnected(x, num_hidden=3, foo=2)
    with pytest.raises(MXNetError, match="deprecated"):
        mx.sym.FullyConnected(x, num_hidden=3, weight_lr_mult=2)
    with pytest.raises(MXNetError, match="foo"):
        mx.sym.FullyConnected(x, num_hidden=3, foo=x)
    with pytest.raises(MXNetError, match="num_hidden"):
        mx.sym.FullyConnected(x)
    with pytest.raises(MXNetError, match="num_hidden"):
        mx.sym.FullyConnected(x, num_hidden='abc')
    with pytest.raises(TypeError):
        mx.sym.FullyConnected(x, x, x, x, num_hidden=2)
    with pytest.raises(TypeError):
        mx.sym.Concat(x, 3)
    with pytest.raises(TypeError):
        mx.sym.Concat(x, y=x)
    with pytest.raises(MXNetError, match="single value"):
        mx.sym.FullyConnected(mx.sym.Group([x, x]), num_hidden=2)
    with pytest.raises(NotImplementedForSymbol):
        bool(x)
    with pytest.raises(NotImplementedForSymbol, match=r"\+="):
        x += x
    with pytest.raises(TypeError):
        x + "a"


def test_inputs_created_for_missing_arguments():
    x = mx.sym.Variable('x')
    assert mx.sym.FullyConnected(name='q', num_hidden=2).list_arguments() == [
        'q_data', 'q_weight', 'q_bias']
    assert mx.sym.FullyConnected(data=None, num_hidden=2, name='nd').list_arguments() == [
        'nd_data', 'nd_weight', 'nd_bias']
    assert mx.sym.Convolution(x, kernel=(3, 3), num_filter=2, no_bias=True,
                              name='c').list_arguments() == ['x', 'c_weight']
    assert mx.sym.add_n(x, x, name='an').attr_dict() == {'an': {'num_args': '2'}}
    assert mx.sym.add_n(x, num_args=3, name='an3').list_arguments() == ['x', 'an3_arg1',
                                                                         'an3_arg2']


def test_batchnorm_aux_states_versions_and_init():
    x = mx.sym.Variable('x')
    bn = mx.sym.BatchNorm(x, name='bn', output_mean_var=True)
    assert bn.list_outputs() == ['bn_output', 'bn_mean', 'bn_var']
    assert bn.list_auxiliary_states() == ['bn_moving_mean', 'bn_moving_var']
    assert len(bn) == 3
    assert bn.get_internals().list_outputs() == [
        'x', 'bn_gamma', 'bn_beta', 'bn_moving_mean', 'bn_moving_var', 'bn_output',
        'bn_mean', 'bn_var']
    x = mx.sym.Variable('x')
    mm = mx.sym.Variable('mm')
    b3 = mx.sym.BatchNorm(x, moving_mean=mm, name='bn3')
    assert mm.attr_dict() == {'mm': {'__init__': '["zero", {}]'}}
    assert b3.list_auxiliary_states() == ['mm', 'bn3_moving_var']
    # a second BatchNorm mutating the same variable bumps its version
    b4 = mx.sym.BatchNorm(b3, moving_mean=mm, name='bn4')
    assert '"inputs": [[5, 0, 0], [6, 0, 0], [7, 0, 0], [3, 0, 2], [8, 0, 1]]' in b4.tojson()


def test_outputs_indexing_and_groups():
    x = mx.sym.Variable('x')
    f = mx.sym.FullyConnected(x, num_hidden=2, name='fc')
    s = mx.sym.SliceChannel(x, num_outputs=2, name='sl')
    assert repr(s) == '<Symbol sl>' and repr(s[1]) == '<Symbol sl>' and s[1].name == 'sl'
    assert repr(mx.sym.Group([x, f])) == '<Symbol group [x, fc]>'
    assert s.list_outputs() == ['sl_output0', 'sl_output1']
    assert s['sl_output1'].list_outputs() == ['sl_output1']
    assert [t.list_outputs() for t in s[0:2]] == [['sl_output0'], ['sl_output1']]
    assert [t.name for t in s] == ['sl', 'sl']
    assert s.get_children().list_outputs() == ['x']
    assert len(s) == 2
    with pytest.raises(ValueError):
        s['nope']
    with pytest.raises(IndexError):
        s[5]
    with pytest.raises(TypeError):
        s[1.0]
    i = f.get_internals()
    assert repr(i) == '<Symbol group [x, fc_weight, fc_bias, fc]>' and i.name is None
    assert i['fc_weight'].list_outputs() == ['fc_weight']
    assert i.list_outputs() == ['x', 'fc_weight', 'fc_bias', 'fc_output']
    assert f.get_children().list_outputs() == ['x', 'fc_weight', 'fc_bias']
    assert x.get_children() is None
    g = mx.sym.Group([mx.sym.BatchNorm(x, name='bn'), f])
    assert g.list_outputs() == ['bn_output', 'fc_output']
    assert g.list_arguments() == ['x', 'bn_gamma', 'bn_beta', 'fc_weight', 'fc_bias']
    assert g.list_auxiliary_states() == ['bn_moving_mean', 'bn_moving_var']
    assert g.list_inputs() == ['x', 'bn_gamma', 'bn_beta', 'bn_moving_mean', 'bn_moving_var',
                               'fc_weight', 'fc_bias']
    assert g.get_children().list_outputs() == [
        'x', 'bn_gamma', 'bn_beta', 'bn_moving_mean', 'bn_moving_var', 'x', 'fc_weight',
        'fc_bias']


def _net2():
    data = mx.sym.Variable('data')
    net1 = mx.sym.FullyConnected(data=data, name='fc1', num_hidden=10)
    net2 = mx.sym.FullyConnected(name='fc3', num_hidden=10)
    net2 = mx.sym.Activation(data=net2, act_type='relu')
    net2 = mx.sym.FullyConnected(data=net2, name='fc4', num_hidden=20)
    return net1, net2


def test_compose_by_name():
    net1, net2 = _net2()
    composed = net2(fc3_data=net1, name='composed')
    assert composed.name == 'composed'
    assert composed.list_arguments() == ['data', 'fc1_weight', 'fc1_bias', 'fc3_weight',
                                         'fc3_bias', 'fc4_weight', 'fc4_bias']
    assert net2.list_arguments() == ['fc3_data', 'fc3_weight', 'fc3_bias', 'fc4_weight',
                                     'fc4_bias']
    assert net2.name == 'fc4'
    assert net2(fc3_data=net1).name == 'fc4'
    g = mx.sym.Group([composed, net1])
    assert len(g.list_outputs()) == 2 and len(g) == 2
    net2._compose(fc4_weight=net1, name='renamed')
    assert net2.name == 'renamed'
    assert net2.list_arguments() == ['fc3_data', 'fc3_weight', 'fc3_bias', 'data',
                                     'fc1_weight', 'fc1_bias', 'fc4_bias']


def test_compose_errors():
    net1, net2 = _net2()
    x = mx.sym.Variable('x')
    with pytest.raises(MXNetError, match="only support kwargs"):
        net2(net1)
    with pytest.raises(MXNetError, match="nope"):
        net2(nope=net1)
    with pytest.raises(MXNetError, match="single value"):
        net2(fc3_data=mx.sym.Group([x, x]))
    # A variable composes by keyword as nnvm's general composition does: an unknown name is
    # refused (MXNet 1.9.1: "Keyword argument name y not found").
    with pytest.raises(MXNetError, match="argument name y not found"):
        x(y=x)
    with pytest.raises(TypeError):
        net2(fc3_data=1)


def test_copy_and_pickle():
    net1, net2 = _net2()
    composed = net2(fc3_data=net1, name='composed')
    dup = copy.deepcopy(composed)
    assert dup.tojson() == composed.tojson()
    dup._set_attr(name='other')
    assert composed.name == 'composed'
    assert copy.copy(net1).tojson() == net1.tojson()
    assert pickle.loads(pickle.dumps(composed)).tojson() == composed.tojson()


def test_fluent_methods():
    x = mx.sym.Variable('x')
    assert x.reshape(shape=(2, 2)).name == 'reshape0'
    assert x.sum(axis=1).attr('axis') == '1'
    assert x.astype('float16').attr('dtype') == 'float16'
    assert x.flatten().name == 'flatten0'
    assert x.expand_dims(1).attr('axis') == '1'
    with pytest.raises(NotImplementedForSymbol):
        x.asnumpy()


def test_infer_shape_partial_and_positional():
    data = mx.sym.Variable('data')
    prev = mx.sym.Variable('prevstate')
    x2h = mx.sym.FullyConnected(data=data, name='x2h', num_hidden=8)
    h2h = mx.sym.FullyConnected(data=prev, name='h2h', num_hidden=8)
    o = mx.sym.Activation(data=mx.sym.elemwise_add(x2h, h2h), name='out', act_type='relu')
    with pytest.warns(UserWarning, match="prevstate: \\(\\)"):
        assert o.infer_shape(data=(10, 6)) == (None, None, None)
    assert o.infer_shape_partial(data=(10, 6)) == (
        [(10, 6), (8, 6), (8,), (), (), ()], [(10, 8)], [])
    full = ([(10, 6), (8, 6), (8,), (10, 8), (8, 8), (8,)], [(10, 8)], [])
    assert o.infer_shape(data=(10, 6), prevstate=(10, 8)) == full
    assert o.infer_shape((10, 6), None, None, (10, 8)) == full
    with pytest.raises(TypeError):
        o.infer_shape(data=[10, 6])
    with pytest.raises(MXNetError, match="nope"):
        o.infer_shape(nope=(1,))
    with pytest.raises(MXNetError, match="x2h"):
        o.infer_shape(data=(10, 6), x2h_weight=(7, 6))
    with pytest.raises(ValueError):
        o.infer_shape((10, 6), data=(1,))


def test_infer_shape_uses_variable_shape_attribute():
    a = mx.sym.Variable('a', shape=(2, 3))
    c = mx.sym.elemwise_add(a, mx.sym.Variable('b'))
    assert c.infer_shape() == ([(2, 3), (2, 3)], [(2, 3)], [])
    assert c.infer_shape(a=(5, 6)) == ([(5, 6), (5, 6)], [(5, 6)], [])
    assert mx.sym.Variable('q', shape=(0, 3)).infer_shape_partial() == ([(0, 3)], [(0, 3)], [])


def test_infer_shape_multi_output_and_aux():
    data = mx.sym.Variable('data')
    bn = mx.sym.BatchNorm(mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name='c'),
                          name='bn')
    assert bn.infer_shape(data=(2, 3, 8, 8)) == (
        [(2, 3, 8, 8), (4, 3, 3, 3), (4,), (4,), (4,)], [(2, 4, 6, 6)], [(4,), (4,)])
    assert bn.infer_shape_partial() == ([(), (), (), (), ()], [()], [(), ()])
    s = mx.sym.SliceChannel(data, num_outputs=3, axis=1, name='split')
    assert s.infer_shape(data=(2, 6)) == ([(2, 6)], [(2, 2), (2, 2), (2, 2)], [])
    assert mx.sym.Group([s[0], s[2]]).infer_shape(data=(2, 6)) == (
        [(2, 6)], [(2, 2), (2, 2)], [])
    assert mx.sym.concat(s[0], s[1], dim=1).infer_shape(data=(2, 6)) == (
        [(2, 6)], [(2, 4)], [])


def test_infer_type():
    data = mx.sym.Variable('data')
    prev = mx.sym.Variable('prevstate')
    o = mx.sym.elemwise_add(mx.sym.FullyConnected(data, name='x2h', num_hidden=8),
                            mx.sym.FullyConnected(prev, name='h2h', num_hidden=8))
    f16 = [np.float16] * 6
    assert o.infer_type(data='float16') == (f16, [np.float16], [])
    assert o.infer_type_partial() == ([None] * 6, [None], [])
    with pytest.warns(UserWarning):
        assert o.infer_type() == (None, None, None)
    assert o.infer_type(np.float64, None, None, np.float64) == ([np.float64] * 6,
                                                                 [np.float64], [])
    with pytest.raises(MXNetError):
        o.infer_type(data='float16', prevstate='float32')
    d = mx.sym.Variable('d', dtype='float16')
    assert (d * 2).infer_type() == ([np.float16], [np.float16], [])
    mlp = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Cast(data, dtype='float32'),
                                                     name='fc1', num_hidden=4), name='softmax')
    assert mlp.infer_type(data=np.float16) == (
        [np.float16, np.float32, np.float32, np.float32], [np.float32], [])


def test_debug_str():
    x = mx.sym.Variable('x')
    s = mx.sym.FullyConnected(x, num_hidden=2, name='fc')
    assert s.debug_str() == (
        "Symbol Outputs:\n\toutput[0]=fc(0)\nVariable:x\nVariable:fc_weight\nVariable:fc_bias\n"
        "--------------------\nOp:FullyConnected, Name=fc\nInputs:\n\targ[0]=x(0) version=0\n"
        "\targ[1]=fc_weight(0) version=0\n\targ[2]=fc_bias(0) version=0\nAttrs:\n"
        "\tnum_hidden=2\n")
    assert x.debug_str() == "Variable:x\n"


def test_every_registered_name_has_a_function():
    from mxlite.ops import registry

    names = registry.all_names()
    assert {"FullyConnected", "_Plus", "elemwise_add", "concat"} <= set(names)
    for n in names:
        fn = getattr(mx.sym, n)
        assert fn.__name__ == n and callable(fn)
    assert mx.sym._internal._Plus is mx.sym._internal._Plus
    assert not hasattr(mx.sym, "no_such_operator")


def test_creation_functions():
    z = mx.sym.zeros((2, 3))
    assert z.name == '_zeros0'
    assert z.attr_dict() == {'_zeros0': {'dtype': 'float32', 'shape': '(2, 3)'}}
    assert z.list_arguments() == []
    assert '"arg_nodes": [], \n  "node_row_ptr": [0, 1], \n' in z.tojson()
    assert mx.sym.ones(4, dtype='int32').attr_dict() == {
        '_ones0': {'dtype': 'int32', 'shape': '4'}}
    assert mx.sym.full((2,), 3).attr_dict() == {
        '_full0': {'dtype': 'float32', 'value': '3.0', 'shape': '(2,)'}}
    assert mx.sym.arange(5).attr_dict() == {'_arange0': {
        'infer_range': 'False', 'repeat': '1', 'step': '1.0', 'dtype': 'float32',
        'stop': 'None', 'start': '5'}}
    assert mx.sym.pow(2, 3) == 8 and mx.sym.maximum(2, 3) == 3 and mx.sym.minimum(2, 3) == 2
