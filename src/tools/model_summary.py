"""Parameters and mult-adds of MobileNetV1, per layer and in total, counted from the built network.

    python -m src.tools.model_summary --width_multiplier 0.75 --image_size 224 --class_num 1000 [--per_layer]

Mult-adds count the convolutions and the classifier (as the paper's Table 2 does); parameters are
the trainable ones (BatchNorm gamma/beta included; moving statistics excluded).
"""
import argparse
import math
from dataclasses import dataclass

from src.mobilenet_v1 import MobileNetV1


@dataclass
class LayerCost:
    name: str
    kind: str
    output_shape: tuple
    params: int
    mult_adds: int


def _param_count(cell):
    return sum(math.prod(p.shape) for p in cell.trainable_params())


def layer_costs(net, image_size):
    """One LayerCost per conv block and for the classifier, walking the built network."""
    costs = []
    height = width = image_size
    for index, block in enumerate(net.network):
        conv = block[0]
        stride = conv.stride[2] if len(conv.stride) == 4 else conv.stride[0]
        height, width = math.ceil(height / stride), math.ceil(width / stride)  # TF-style 'same' padding
        kernel = conv.kernel_size[0] * conv.kernel_size[1]
        mult_adds = height * width * kernel * (conv.in_channels // conv.group) * conv.out_channels
        kind = "dw" if conv.group > 1 else ("conv" if index == 0 else "pw")
        costs.append(LayerCost(f"network.{index}", f"{kind} {conv.kernel_size[0]}x{conv.kernel_size[1]}/s{stride}",
                               (conv.out_channels, height, width), _param_count(block), mult_adds))
    if not net.features_only:
        fc = net.fc
        costs.append(LayerCost("fc", "dense", (fc.out_channels,), _param_count(fc), fc.in_channels * fc.out_channels))
    return costs


def summarize(width_multiplier=1.0, image_size=224, class_num=1000, stem_stride=2):
    """(per-layer costs, total params, total mult-adds) of that network."""
    net = MobileNetV1(class_num=class_num, width_multiplier=width_multiplier, stem_stride=stem_stride)
    costs = layer_costs(net, image_size)
    return costs, sum(c.params for c in costs), sum(c.mult_adds for c in costs)


def main(argv=None):
    parser = argparse.ArgumentParser(description="MobileNetV1 parameters and mult-adds")
    parser.add_argument("--width_multiplier", type=float, default=1.0)
    parser.add_argument("--image_size", type=int, default=224)
    parser.add_argument("--class_num", type=int, default=1000)
    parser.add_argument("--stem_stride", type=int, default=2)
    parser.add_argument("--per_layer", action="store_true", help="also print every layer")
    args = parser.parse_args(argv)
    costs, params, mult_adds = summarize(args.width_multiplier, args.image_size, args.class_num, args.stem_stride)
    if args.per_layer:
        print(f"{'layer':<12} {'kind':<12} {'output':<18} {'params':>10} {'mult-adds':>13}")
        for c in costs:
            print(f"{c.name:<12} {c.kind:<12} {str(c.output_shape):<18} {c.params:>10,} {c.mult_adds:>13,}")
    print(f"MobileNetV1 alpha={args.width_multiplier} {args.image_size}x{args.image_size} {args.class_num} classes: "
          f"{params / 1e6:.2f} M parameters, {mult_adds / 1e6:.1f} M mult-adds")


if __name__ == "__main__":
    main()
