"""ONNX copies of the three members and the weighted ensemble, checked equal to the pickles.

The live bot then predicts from data, not code (a pickle runs code when loaded), without the
training libraries. Every exported model takes `features`, float64 [n, 12] in FEATURE_NAMES
order, and returns `p_up`, float64 [n]; each member reproduces its library's arithmetic:

- LightGBM compares float64 features with float64 thresholds. onnxmltools only converts it in
  float32, where raw BTC/JPY prices near 1.5e7 are rounded to whole yen and rows whose price
  sits within a yen of a split take the other branch (measured: |dp| up to 0.015 on one row in
  2,000); so its trees are written here from the booster's own dump as a float64 tree ensemble
  (ai.onnx.ml opset 3 keeps thresholds as float64 tensors).
- XGBoost casts features to float32 and splits in float32: the float32 conversion is exact.
- scikit-learn's forest casts features to float32 and compares them with float64 thresholds:
  the graph casts to float32 and back, then runs a float64 tree ensemble.

The tree operators return float32 probabilities, so a member's P(up) differs from the library's
by its float32 rounding (~1e-7 at most). At export every ONNX model is run on every holdout row
and compared with the pickled object it copies; above `MAX_ABS_DIFF` the export is refused and
the set is marked pickle-only, with the reason.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version as package_version

import numpy as np
import onnx
import onnxruntime
import pandas as pd
from onnx import TensorProto, helper, numpy_helper
from onnxmltools import convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import DoubleTensorType

from src.config import MODEL_NAMES
from src.features.contract import FEATURE_NAMES
from src.registry.paths import ONNX_INPUT, ONNX_OUTPUT

MAX_ABS_DIFF = 1e-6  # max |P(up) ONNX - P(up) pickle| on any holdout row
OPSET = 15  # onnxmltools converts up to 15
ML_OPSET = 3  # float64 tree attributes
INPUT, OUTPUT = ONNX_INPUT, ONNX_OUTPUT
ENSEMBLE = "ensemble"
_N_FEATURES = len(FEATURE_NAMES)


@dataclass(frozen=True)
class OnnxExport:
    """The ONNX files (empty when refused) and what the metadata records about them."""

    files: dict[str, bytes]  # registry name ("lightgbm_onnx", ..., "ensemble_onnx") -> bytes
    record: dict = field(default_factory=dict)

    @property
    def exported(self) -> bool:
        return bool(self.files)


# -- members ---------------------------------------------------------------------------------
def _lightgbm_nodes(tree: dict, tree_id: int, attrs: dict) -> None:
    """Append one LightGBM tree (from `dump_model`) to TreeEnsembleClassifier attributes."""
    next_id = [0]

    def visit(node: dict) -> int:
        node_id = next_id[0]
        next_id[0] += 1
        attrs["nodes_treeids"].append(tree_id)
        attrs["nodes_nodeids"].append(node_id)
        if "leaf_value" in node:
            attrs["nodes_featureids"].append(0)
            attrs["nodes_modes"].append("LEAF")
            attrs["nodes_values"].append(0.0)
            attrs["nodes_truenodeids"].append(0)
            attrs["nodes_falsenodeids"].append(0)
            attrs["class_treeids"].append(tree_id)
            attrs["class_nodeids"].append(node_id)
            attrs["class_weights"].append(node["leaf_value"])
            return node_id
        if node["decision_type"] != "<=":
            raise ValueError(f"LightGBM split {node['decision_type']!r} is not exported")
        attrs["nodes_featureids"].append(node["split_feature"])
        attrs["nodes_modes"].append("BRANCH_LEQ")
        attrs["nodes_values"].append(node["threshold"])
        slot = len(attrs["nodes_truenodeids"])
        attrs["nodes_truenodeids"].append(0)
        attrs["nodes_falsenodeids"].append(0)
        attrs["nodes_truenodeids"][slot] = visit(node["left_child"])
        attrs["nodes_falsenodeids"][slot] = visit(node["right_child"])
        return node_id

    visit(tree)


def _lightgbm_graph(estimator) -> tuple[list, str, list]:
    """The booster as a float64 TreeEnsembleClassifier: its nodes, P(class) output, no
    initializers."""
    dump = estimator.booster_.dump_model()
    if dump["objective"] != "binary sigmoid:1" or dump["num_tree_per_iteration"] != 1:
        raise ValueError(f"LightGBM objective {dump['objective']!r} is not exported")
    keys = (
        "nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
        "nodes_truenodeids", "nodes_falsenodeids", "class_treeids", "class_nodeids",
        "class_weights",
    )  # fmt: skip
    attrs = {key: [] for key in keys}
    for tree_id, tree in enumerate(dump["tree_info"]):
        _lightgbm_nodes(tree["tree_structure"], tree_id, attrs)
    as_double = {"nodes_values", "class_weights"}
    node = helper.make_node(
        "TreeEnsembleClassifier",
        [INPUT],
        ["label", "probabilities"],
        domain="ai.onnx.ml",
        classlabels_int64s=[0, 1],
        class_ids=[0] * len(attrs["class_treeids"]),
        post_transform="LOGISTIC",
        nodes_missing_value_tracks_true=[0] * len(attrs["nodes_modes"]),
        **{key: value for key, value in attrs.items() if key not in as_double},
        **{
            f"{key}_as_tensor": numpy_helper.from_array(np.asarray(attrs[key], dtype="float64"))
            for key in as_double
        },
    )
    return [node], "probabilities", []


def _converted_graph(model: onnx.ModelProto, input_name: str) -> tuple[list, str, list]:
    """A converter's nodes (its input renamed to `input_name`) and its probability output."""
    graph = model.graph
    original = graph.input[0].name
    nodes = []
    for node in graph.node:
        renamed = [input_name if name == original else name for name in node.input]
        del node.input[:]
        node.input.extend(renamed)
        nodes.append(node)
    return nodes, graph.output[1].name, list(graph.initializer)


def _xgboost_graph(estimator) -> tuple[list, str, list]:
    # The converter reads features by XGBoost's default names (f0, f1, ...), not by column names.
    unnamed = copy.deepcopy(estimator)
    unnamed.get_booster().feature_names = None
    model = convert_xgboost(unnamed, initial_types=[("x", FloatTensorType([None, _N_FEATURES]))])
    cast = helper.make_node("Cast", [INPUT], ["features_float"], to=TensorProto.FLOAT)
    nodes, output, initializers = _converted_graph(model, "features_float")
    return [cast, *nodes], output, initializers


def _random_forest_graph(estimator) -> tuple[list, str, list]:
    model = convert_sklearn(
        estimator,
        initial_types=[("x", DoubleTensorType([None, _N_FEATURES]))],
        options={id(estimator): {"zipmap": False}},
        target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
    )
    # scikit-learn compares float32(x) with its float64 thresholds: round the features the same.
    casts = [
        helper.make_node("Cast", [INPUT], ["features_float"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["features_float"], ["features_rounded"], to=TensorProto.DOUBLE),
    ]
    nodes, output, initializers = _converted_graph(model, "features_rounded")
    return [*casts, *nodes], output, initializers


_GRAPH_BUILDERS = {
    "lightgbm": _lightgbm_graph,
    "xgboost": _xgboost_graph,
    "random_forest": _random_forest_graph,
}


def _member_parts(name: str, estimator) -> tuple[list, list]:
    """Nodes and initializers from `features` to `p_up` (every name prefixed with `name`)."""
    nodes, probabilities, initializers = _GRAPH_BUILDERS[name](estimator)
    column = numpy_helper.from_array(np.array([1], dtype="int64"), "up_column")
    nodes = [
        *nodes,
        helper.make_node("Gather", [probabilities, "up_column"], ["p_up_2d"], axis=1),
        helper.make_node("Squeeze", ["p_up_2d", "squeeze_axes"], ["p_up_float"]),
        helper.make_node("Cast", ["p_up_float"], [OUTPUT], to=TensorProto.DOUBLE),
    ]
    axes = numpy_helper.from_array(np.array([1], dtype="int64"), "squeeze_axes")
    return _prefixed(nodes, [*initializers, column, axes], f"{name}_")


def _prefixed(nodes: list, initializers: list, prefix: str) -> tuple[list, list]:
    """Rename every value except the shared input so graphs can be merged without clashes."""

    def rename(value: str) -> str:
        return value if value in ("", INPUT) else prefix + value

    renamed = []
    for number, node in enumerate(nodes):
        copy_ = copy.deepcopy(node)
        copy_.name = f"{prefix}{number}_{node.op_type}"
        for names in (copy_.input, copy_.output):
            new = [rename(value) for value in names]
            del names[:]
            names.extend(new)
        renamed.append(copy_)
    tensors = []
    for tensor in initializers:
        copy_ = copy.deepcopy(tensor)
        copy_.name = rename(tensor.name)
        tensors.append(copy_)
    return renamed, tensors


def _model(nodes: list, initializers: list, output: str, name: str) -> bytes:
    graph = helper.make_graph(
        [*nodes, helper.make_node("Identity", [output], [OUTPUT])],
        name,
        [helper.make_tensor_value_info(INPUT, TensorProto.DOUBLE, [None, _N_FEATURES])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.DOUBLE, [None])],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
        producer_name="bitbank-mlops",
        doc_string=f"P(up) of {name}; input: the 12 features {', '.join(FEATURE_NAMES)}",
    )
    model.ir_version = 8  # readable by every onnxruntime from 1.14 on
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def _build_files(models: dict, weights: dict[str, float]) -> dict[str, bytes]:
    parts = {name: _member_parts(name, models[name].estimator) for name in MODEL_NAMES}
    files = {name: _model(*parts[name], f"{name}_p_up", name) for name in MODEL_NAMES}
    # The ensemble blends only members with a weight, as ProductionEnsemble.predict_proba does.
    nodes, initializers, terms = [], [], []
    for name in (name for name in MODEL_NAMES if weights[name] > 0):
        member_nodes, member_initializers = parts[name]
        weight = numpy_helper.from_array(np.array(weights[name], dtype="float64"), f"w_{name}")
        term = helper.make_node("Mul", [f"{name}_p_up", f"w_{name}"], [f"t_{name}"])
        nodes += [*member_nodes, term]
        initializers += [*member_initializers, weight]
        terms.append(f"t_{name}")
    nodes.append(helper.make_node("Sum", terms, ["blend"]))
    files[ENSEMBLE] = _model(nodes, initializers, "blend", ENSEMBLE)
    return files


# -- the check -------------------------------------------------------------------------------
def onnx_p_up(model_bytes: bytes, features: np.ndarray) -> np.ndarray:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        model_bytes, options, providers=["CPUExecutionProvider"]
    )
    return session.run([OUTPUT], {INPUT: features})[0]


def _pickle_p_up(models: dict, ensemble, holdout: pd.DataFrame) -> dict[str, np.ndarray]:
    p_up = {name: models[name].predict_proba(holdout)[:, 1] for name in MODEL_NAMES}
    return {**p_up, ENSEMBLE: ensemble.predict_proba(holdout)[:, 1]}


def _versions() -> dict[str, str]:
    names = ("onnx", "onnxruntime", "skl2onnx", "onnxmltools")
    return {name: package_version(name) for name in names}


def export_onnx(models: dict, ensemble, holdout: pd.DataFrame) -> OnnxExport:
    """ONNX files of the shipped `models` and `ensemble`, or none (pickle-only) with the reason.

    `holdout` holds the feature rows the comparison runs on (every holdout row of the run).
    """
    record = {
        "bound": MAX_ABS_DIFF,
        "rows_compared": len(holdout),
        "opset": {"ai.onnx": OPSET, "ai.onnx.ml": ML_OPSET},
        "converters": _versions(),
    }
    try:
        with warnings.catch_warnings():  # converters warn about opsets they choose themselves
            warnings.simplefilter("ignore")
            files = _build_files(models, ensemble.named_weights)
        features = np.ascontiguousarray(holdout.to_numpy(dtype="float64"))
        onnx_values = {name: onnx_p_up(data, features) for name, data in files.items()}
    except Exception as exc:  # any converter or runtime failure leaves a usable pickle-only set
        reason = f"conversion failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        return OnnxExport({}, {**record, "status": "pickle-only", "reason": reason,
                               "max_abs_diff": {}})  # fmt: skip
    reference = _pickle_p_up(models, ensemble, holdout)
    diffs = {name: float(np.max(np.abs(onnx_values[name] - reference[name]))) for name in files}
    worst = max(diffs, key=diffs.get)
    if not diffs[worst] <= MAX_ABS_DIFF:  # NaN fails too
        reason = (
            f"ONNX {worst} differs from the pickle by {diffs[worst]:.3g} in P(up) on the "
            f"holdout (bound {MAX_ABS_DIFF:g}); the bot must use the pickles for this set"
        )
        return OnnxExport({}, {**record, "status": "pickle-only", "reason": reason,
                               "max_abs_diff": diffs})  # fmt: skip
    reason = f"every ONNX P(up) within {MAX_ABS_DIFF:g} of the pickle on {len(holdout)} rows"
    files = {f"{name}_onnx": data for name, data in files.items()}
    return OnnxExport(files, {**record, "status": "exported", "reason": reason,
                              "max_abs_diff": diffs})  # fmt: skip
