"""Reading checkpoints into the network, with errors that name the file, and writing them atomically.

Two policies: ``load_pretrained`` (fine-tuning: weights only, a classifier for another class count is
left freshly initialised) and ``load_for_inference`` (evaluation/export: every network parameter must
come from the file, with matching shapes). Both take a run's EMA weights when the file holds them
(``ema.<name>``); resuming a run, which takes the raw ones, is src/training/run_state.py's.
"""
import logging

import mindspore as ms

from src.model_utils.atomic_write import atomic_path, quiet_mindspore, temporary_path
from src.model_utils.errors import UserInputError

logger = logging.getLogger(__name__)
CLASSIFIER_PREFIX = "fc."
EMA_PREFIX = "ema."  # a run's EMA averages travel as ema.<parameter> (src/training/ema.py)


class CheckpointError(UserInputError):
    """A checkpoint that is missing, unreadable, or does not fit the network."""


def read_checkpoint(path):
    """Parameter dict of a checkpoint file."""
    try:
        return ms.load_checkpoint(path)
    except (ValueError, RuntimeError, OSError) as err:
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from err


def inference_weights(param_dict, path):
    """The weights to run: the EMA average (``ema.<name>``) of a checkpoint that holds one, else its weights."""
    averaged = {name[len(EMA_PREFIX):]: value for name, value in param_dict.items() if name.startswith(EMA_PREFIX)}
    if not averaged:
        return param_dict
    logger.info("%s: using its EMA weights", path)
    return averaged


def _network_params(net):
    return {p.name: p for p in net.get_parameters()}


def _shape_mismatches(net_params, param_dict):
    return {name: (tuple(param_dict[name].shape), tuple(p.shape))
            for name, p in net_params.items() if name in param_dict and param_dict[name].shape != p.shape}


def load_pretrained(net, path):
    """Load the weights of ``path`` into ``net`` for fine-tuning; return the names left untouched."""
    param_dict = inference_weights(read_checkpoint(path), path)
    net_params = _network_params(net)
    mismatches = _shape_mismatches(net_params, param_dict)
    head_only = all(name.startswith(CLASSIFIER_PREFIX) for name in mismatches)
    if mismatches and not head_only:
        raise CheckpointError(f"checkpoint {path} does not fit the network (width_multiplier?): "
                              + _describe(mismatches))
    for name in mismatches:
        del param_dict[name]
    if mismatches:
        logger.info("classifier of %s has shape %s, the network %s: the classifier is re-initialised for "
                    "fine-tuning", path, mismatches.get("fc.weight", ("?",))[0], net_params["fc.weight"].shape)
    weights = {name: value for name, value in param_dict.items() if name in net_params}
    not_loaded, _ = ms.load_param_into_net(net, weights)
    if not weights:
        raise CheckpointError(f"checkpoint {path} holds no parameter of this network")
    return list(not_loaded)


def load_for_inference(net, path):
    """Load every network parameter (the EMA ones when present) from ``path``.

    A missing or misshapen parameter is an error."""
    load_network_weights(net, path, inference_weights(read_checkpoint(path), path))


def load_network_weights(net, path, param_dict):
    """Every network parameter from ``param_dict`` (read from ``path``); a missing or misshapen one is an error."""
    net_params = _network_params(net)
    mismatches = _shape_mismatches(net_params, param_dict)
    if mismatches:
        raise CheckpointError(f"checkpoint {path} does not fit the network: {_describe(mismatches)}."
                              + _mismatch_hint(mismatches))
    missing = sorted(set(net_params) - set(param_dict))
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {len(missing)} network parameter(s), e.g. {missing[:3]}")
    ms.load_param_into_net(net, {name: param_dict[name] for name in net_params}, strict_load=True)


def _mismatch_hint(mismatches):
    """Which setting most likely differs: the width multiplier (stem channels) or the class count."""
    if "network.0.0.weight" in mismatches:
        (file_stem, net_stem) = (mismatches["network.0.0.weight"][0][0], mismatches["network.0.0.weight"][1][0])
        return (f" Its stem has {file_stem} channels, the network {net_stem}: set --width_multiplier "
                f"to the value it was trained with.")
    if "fc.weight" in mismatches:
        (file_classes, net_classes) = (mismatches["fc.weight"][0][0], mismatches["fc.weight"][1][0])
        return (f" It has {file_classes} classes, the config {net_classes}: set --class_num "
                f"(or --config_path) to match.")
    return ""


def _describe(mismatches):
    items = [f"{name}: file {a} vs network {b}" for name, (a, b) in sorted(mismatches.items())[:3]]
    more = f" (+{len(mismatches) - 3} more)" if len(mismatches) > 3 else ""
    return "; ".join(items) + more


def save_checkpoint_atomically(cell, path, append_dict=None):
    """Write ``path`` so that a crash at any moment leaves the old file or the new one, never half of one; a failed
    write (a full disk) leaves neither temporary behind and raises WriteError naming the path."""
    tmp = temporary_path(path, ".ckpt")
    with atomic_path(path, suffix=".ckpt", leftovers=[tmp[:-len(".ckpt")] + ".tmp"]) as tmp:  # MindSpore's own
        with quiet_mindspore():
            ms.save_checkpoint(cell, tmp, append_dict=append_dict)
