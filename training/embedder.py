"""Fine-tune the face embedder: the pretrained MobileFaceNet (training/mobilefacenet.py) on our labelled faces,
our alignment and our augmentations, with ArcFace and distillation from the teachers' ensemble.

    python -m training.teachers       --out teachers/                               # once: fetch + convert
    python -m training.teacher_cache  --data-root ../shared/data --names sface mobilefacenet --out runs/cache_v3
    python -m training.embedder       --config training/configs/embedder_arcface.json --data-root ../shared/data

The network starts from the package's weights (`--init-package teachers/mobilefacenet.onnx`), so it starts where
the teacher is instead of at random. Each step shows it a face as OUR pipeline cuts it (the cache's `crops.npy`:
our detector, landmarks and alignment, mirrored or not), freshly augmented (training/augment.py: colour, blur,
JPEG, occlusion, small affine jitter, black borders), and combines three losses (training/losses.py):
- ArcFace (`arcface_weight`) on the faces with an identity (CelebA train ids and named people), its class
  centres started at each class's mean MobileFaceNet target, i.e. where the pretrained network puts the class;
- distillation (`distill_weight`): a linear projection of the embedding pulled (1 - cosine) to the target of the
  view: the teachers' unit embeddings of that crop, concatenated and re-normalised
  (SFace + MobileFaceNet: an ensemble stronger than either). The projection starts at the least-squares map from
  MobileFaceNet's targets to the ensemble's, and is training-only: the pipeline serves the embedding;
- relational distillation (`relation_weight`): the batch's pairwise cosines of the embedding made to match the
  ensemble's, which teaches the served embedding itself the ensemble's geometry.
The first `frozen_stages` stages (the stem counts as stage 0) are frozen: on 2 CPU cores they are where most of
the time goes, and a pretrained network's early filters change little in fine-tuning.

Held out, never trained on (training/faces.py): the validation people (60 in-the-wild CelebA train identities and
150 named faces_extra people, all their photos), validated on every "epoch" through our pipeline's crops; and
the faces_extra photos the index build keeps for its own checks (index/extra.py). The run is chosen on the mean
of both sets' TPR at FPR 1e-2 (`val_tpr`); before the first step the untouched network is validated (log line
with epoch -1). An "epoch" is `--epoch-steps` steps: weights, checkpoint and validation are written after each,
into `--out` only (with `log.jsonl` and `config.json`); `python -m training.publish OUT` makes them the
pipeline's weights. `--epochs 0` writes the untouched pretrained network as a run (with its threshold).

The committed weights are `embedder_arcface.json`'s (ArcFace alone: it validated best); `embedder_finetune.json`
adds the two distillation losses (docs/MODEL_CARD.md has the ablation).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from index.extra import ExtraConfig, extra_folder, split_extra
from pipeline.config import EmbedderConfig
from readers import DataPaths
from training.augment import embedder_transform
from training.common import EpochLoop, add_runtime_arguments, cosine_lr, save_part, start_run
from training.faces import held_out_rows, stacked_sets, validation_sets
from training.losses import ArcFaceMargin, distillation_loss, relational_distillation_loss
from training.metrics import pair_scores, roc
from training.mobilefacenet import MEAN, STD, MobileFaceNet, load_package_weights
from training.networks import normalise

VALIDATION_FPR = 1e-2
BEST = "best"  # a run's sub-folder with the weights of its best epoch by `val_tpr` (publish either folder)
STUDENT_TEACHER = "mobilefacenet"  # the teacher whose network the student is: its targets place ArcFace's centres


def index_evaluation_keys(data: DataPaths) -> set[str]:
    """faces_extra photos (as `path` keys) that the index build uses to check itself: never trained on."""
    folder = extra_folder(data.root)
    if folder is None:
        return set()
    split = split_extra(folder, ExtraConfig())
    return set(split.held_out.path) | set(split.unseen.path)


def teacher_targets(cache: Path, names: list[str]) -> np.ndarray:
    """(N, D): the teachers' unit embeddings of each crop, concatenated, unit length."""
    targets = np.concatenate([np.load(cache / f"{name}.npy") for name in names], axis=1).astype(np.float32)
    return targets / np.linalg.norm(targets, axis=1, keepdims=True)


class TeacherViews(Dataset):
    """Items (augmented view, target, row): the pipeline's crop of a face freshly augmented (mirrored half the
    time: a mirrored face is the same person), with the teachers' target for the crop."""

    def __init__(self, crops: np.ndarray, targets: np.ndarray, rows: np.ndarray) -> None:
        self.crops, self.targets, self.rows = crops, targets, rows
        self.transform = embedder_transform()

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, item: int) -> tuple[np.ndarray, np.ndarray, int]:
        row = int(self.rows[item])
        return self.transform(image=np.asarray(self.crops[row]))["image"], self.targets[row], row


class PairedBatches(torch.utils.data.Sampler):
    """Batches (lists of dataset positions) holding `pairs` identities with two photos each, the rest drawn at
    random: a random batch of 64 out of ~60,000 faces holds almost no two photos of one person, so neither
    ArcFace nor the relational loss would see what a genuine pair looks like to the teachers."""

    def __init__(self, identities: np.ndarray, batch: int, pairs: int, steps: int, seed: int) -> None:
        self.batch, self.pairs, self.steps = batch, pairs, steps
        self.rng = np.random.default_rng(seed)
        groups = pd.DataFrame({"identity": identities}).groupby("identity").indices  # positions, by identity
        self.groups = [rows for identity, rows in groups.items() if identity != "" and len(rows) >= 2]
        self.size = len(identities)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        for _ in range(self.steps):
            chosen = self.rng.choice(len(self.groups), self.pairs, replace=False)
            paired = [int(p) for g in chosen for p in self.rng.choice(self.groups[g], 2, replace=False)]
            yield paired + self.rng.integers(0, self.size, self.batch - len(paired)).tolist()


def embed(model: torch.nn.Module, crops: np.ndarray, device: str) -> np.ndarray:
    """Unit embeddings of uint8 crops, in eval mode."""
    model.eval()
    with torch.inference_mode():
        out = [F.normalize(model(normalise(crops[i:i + 256], MEAN, STD, device)), dim=1).cpu()
               for i in range(0, len(crops), 256)]
    return torch.cat(out).numpy()


def validate(embeddings: np.ndarray, identities: np.ndarray, sets: dict[str, np.ndarray],
             prefix: str = "val") -> dict[str, float]:
    """Per held-out set (rows of `embeddings`): AUC, TPR at FPR 1e-2 and 1e-3; `<prefix>_tpr`, the mean of the
    sets' TPR at 1e-2 (what runs are chosen on); `<prefix>_threshold`, the cosine at FPR 1e-2 over both sets'
    impostor pairs pooled (what the verification threshold becomes)."""
    figures, genuine_all, impostor_all = {}, [], []
    for name, rows in sets.items():
        genuine, impostor = pair_scores(embeddings[rows], identities[rows])
        result = roc(genuine, impostor)
        figures |= {f"{prefix}_{name}_auc": round(result["auc"], 4),
                    f"{prefix}_{name}_tpr": round(result["tpr_at_fpr_0.01"], 4),
                    f"{prefix}_{name}_tpr_1e-3": round(result["tpr_at_fpr_0.001"], 4)}
        genuine_all.append(genuine)
        impostor_all.append(impostor)
    figures[f"{prefix}_tpr"] = round(float(np.mean([figures[f"{prefix}_{name}_tpr"] for name in sets])), 4)
    pooled = roc(np.concatenate(genuine_all), np.concatenate(impostor_all))
    figures[f"{prefix}_threshold"] = round(pooled["threshold_at_fpr_0.01"], 4)
    return figures


def class_centres(targets: np.ndarray, labels: np.ndarray, classes: int) -> torch.Tensor:
    """(classes, D): each class's mean target, unit length: where ArcFace's centres start."""
    sums = np.zeros((classes, targets.shape[1]), np.float32)
    labelled = labels >= 0
    np.add.at(sums, labels[labelled], targets[labelled])
    return F.normalize(torch.from_numpy(sums), dim=1)


def least_squares_projection(source: np.ndarray, target: np.ndarray) -> torch.Tensor:
    """(D_target, D_source) weight of the linear map that best takes `source` rows to `target` rows."""
    solution, *_ = np.linalg.lstsq(source, target, rcond=None)
    return torch.from_numpy(solution.T.astype(np.float32))


def freeze_stages(model: MobileFaceNet, stages: int) -> list[torch.nn.Parameter]:
    """Freeze the stem (stage 0) and the first `stages - 1` bottleneck stages when `stages` > 0; return the
    parameters left to train."""
    frozen = [model.stem, model.stem_dw, model.stem_pw, *model.stages[:max(0, stages - 1)]] if stages > 0 else []
    for module in frozen:
        module.requires_grad_(False)
    return [parameter for parameter in model.parameters() if parameter.requires_grad]


def best_so_far(folder: Path) -> float:
    """`val_tpr` of the weights kept in `folder` (the run's best epoch so far), or -1 when there are none."""
    path = folder / "embedder.json"
    return json.loads(path.read_text())["training"]["val_tpr"] if path.exists() else -1.0


def endless(loader: torch.utils.data.DataLoader):
    """The loader's batches without end: an "epoch" is a number of steps, and a new pass (a fresh shuffle)
    starts where one runs out."""
    while True:
        yield from loader


def options_parser() -> argparse.ArgumentParser:
    """The script's options; a run's config file (`--config`) holds values for them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None, help="to find faces_extra's evaluation-only photos")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache_v3"), help="folder from teacher_cache")
    parser.add_argument("--teachers", nargs="+", default=["sface", "mobilefacenet"],
                        help="cached teachers whose targets are concatenated")
    parser.add_argument("--out", type=Path, default=Path("runs/embedder"))
    parser.add_argument("--init-package", type=Path, default=Path("teachers/mobilefacenet.onnx"),
                        help="the converted package MobileFaceNet (training.teachers) the network starts from")
    parser.add_argument("--init", type=Path, default=None, help="start from these weights instead (safetensors)")
    parser.add_argument("--distill-weight", type=float, default=1.0)
    parser.add_argument("--relation-weight", type=float, default=1.0)
    parser.add_argument("--arcface-weight", type=float, default=0.1)
    parser.add_argument("--labelled-only", action="store_true", help="train on faces with an identity only")
    parser.add_argument("--frozen-stages", type=int, default=0, help="stem = 1, then the bottleneck stages")
    parser.add_argument("--pairs-per-batch", type=int, default=0,
                        help="identities shown with two photos in every batch (PairedBatches); 0: random batches")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--epoch-steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-5, help="the network's peak learning rate (AdamW)")
    parser.add_argument("--head-lr", type=float, default=1e-3,
                        help="peak learning rate of the training-only heads: ArcFace's centres, the projection")
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--scale", type=float, default=32.0)
    parser.add_argument("--margin", type=float, default=0.3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    add_runtime_arguments(parser)
    parser.add_argument("--limit", type=int, default=0, help="use only N random training faces (smoke runs)")
    return parser


def build_student(args: argparse.Namespace) -> MobileFaceNet:
    model = MobileFaceNet()
    if args.init is not None:
        from safetensors.torch import load_file

        model.load_state_dict({k: v.float() for k, v in load_file(str(args.init)).items()})
    else:
        load_package_weights(model, args.init_package)
    return model


def training_rows(faces: pd.DataFrame, args: argparse.Namespace) -> np.ndarray:
    """Rows the run trains on: every face but the validation people's and the index build's checks."""
    checks = faces.key.isin(index_evaluation_keys(DataPaths.from_root(args.data_root))).to_numpy()
    keep = ~(held_out_rows(faces) | checks)
    if args.labelled_only:
        keep &= (faces.identity != "").to_numpy()
    rows = np.flatnonzero(keep)
    return np.sort(np.random.default_rng(args.seed).choice(rows, args.limit, replace=False)) if args.limit else rows


def main(argv: list[str] | None = None) -> None:
    args, budget = start_run(options_parser(), argv)

    faces = pd.read_csv(args.cache / "faces.csv", keep_default_na=False)
    student_crops = np.load(args.cache / "crops.npy", mmap_mode="r")  # 2.4 GB: the page cache holds it
    targets = teacher_targets(args.cache, args.teachers)
    own_targets = teacher_targets(args.cache, [STUDENT_TEACHER])
    sets = validation_sets(faces)
    validation_rows, validation_parts = stacked_sets(sets)
    validation_crops = np.asarray(student_crops[validation_rows])
    validation_identities = faces.identity.to_numpy()[validation_rows]
    train_rows = training_rows(faces, args)
    labelled = sorted(set(faces.identity.to_numpy()[train_rows]) - {""})
    classes = {identity: n for n, identity in enumerate(labelled)}
    labels_np = np.full(len(faces), -1, np.int64)
    labels_np[train_rows] = [classes.get(i, -1) for i in faces.identity.to_numpy()[train_rows]]

    config = EmbedderConfig(backbone="mobilefacenet", embedding_size=192, mean=MEAN, std=STD,
                            arcface_scale=args.scale, arcface_margin=args.margin)
    model = build_student(args).to(memory_format=torch.channels_last)
    trained = freeze_stages(model, args.frozen_stages)
    margin = ArcFaceMargin(config.embedding_size, len(classes), config.arcface_scale, config.arcface_margin)
    projection = torch.nn.Linear(config.embedding_size, targets.shape[1], bias=False)
    with torch.no_grad():
        margin.weight.copy_(class_centres(own_targets, labels_np, len(classes)))
        sample = np.random.default_rng(args.seed).choice(train_rows, min(20_000, len(train_rows)), replace=False)
        projection.weight.copy_(least_squares_projection(own_targets[sample], targets[sample]))
    for module in (model, margin, projection):
        module.to(args.device)
    labels = torch.from_numpy(labels_np).to(args.device)
    heads = [*margin.parameters(), *projection.parameters()]
    parameters = [*trained, *heads]
    # Adam moves every weight by about the learning rate per step, whatever its size: the folded convolutions'
    # weights are small, so the network takes a rate far below the freshly placed heads' (see the model card).
    optimizer = torch.optim.AdamW([{"params": trained, "lr": args.lr, "peak": args.lr},
                                   {"params": heads, "lr": args.head_lr, "peak": args.head_lr}], weight_decay=5e-4)
    loop = EpochLoop(args.out, {"model": model, "margin": margin, "projection": projection, "optimizer": optimizer},
                     args.epochs, budget)
    steps = args.epoch_steps
    dataset = TeacherViews(student_crops, targets, train_rows)
    if args.pairs_per_batch:
        sampler = PairedBatches(faces.identity.to_numpy()[train_rows], args.batch, args.pairs_per_batch,
                                steps * args.epochs, args.seed + loop.epoch)
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=args.workers)
    else:
        generator = torch.Generator().manual_seed(args.seed + loop.epoch)
        loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, drop_last=True,
                                             sampler=torch.utils.data.RandomSampler(train_rows, generator=generator),
                                             num_workers=args.workers)
    batches = endless(loader)
    print(f"{len(train_rows)} training faces, {len(classes)} labelled identities, "
          f"validation: {({k: len(v) for k, v in sets.items()})}, targets {targets.shape}", flush=True)

    def validation_figures() -> dict[str, float]:
        """The served embedding's figures, and, when the run distils (`val_projected_*`), those of its projection
        to the teachers' space, which serving could use instead (folded into the last layer)."""
        served = embed(model, validation_crops, args.device)
        figures = validate(served, validation_identities, validation_parts)
        if args.distill_weight == 0:
            return figures  # the projection is not trained: its figures would say nothing
        with torch.inference_mode():
            projected = F.normalize(projection(torch.from_numpy(served).to(args.device)), dim=1).cpu().numpy()
        return figures | validate(projected, validation_identities, validation_parts, "val_projected")

    def save(finished: int, figures: dict[str, float], folder: Path = args.out) -> None:
        config.verification_threshold = figures["val_threshold"]
        training = {"config": str(args.config or ""), "teachers": args.teachers,
                    "init": str(args.init or args.init_package), "epochs": finished, "epoch_steps": steps,
                    "batch": args.batch, "lr": args.lr, "head_lr": args.head_lr, "frozen_stages": args.frozen_stages,
                    "distill_weight": args.distill_weight, "relation_weight": args.relation_weight,
                    "arcface_weight": args.arcface_weight, "train_faces": int(len(train_rows)),
                    "identities": len(classes), **figures,
                    "threshold_rule": "FPR 1e-2 over both validation sets' impostor pairs, our pipeline's crops"}
        save_part("embedder", model, config, folder, training)

    if loop.epoch == 0:
        untouched = validation_figures()
        loop.log.write(epoch=-1, **untouched)  # the pretrained network as it comes
        if args.epochs == 0:  # `--epochs 0`: the pretrained network itself as a run (the ablation's first row)
            save(0, untouched)

    def train_epoch(epoch: int, epochs: int) -> dict[str, float]:
        model.train()
        sums = np.zeros(3)
        for step in range(steps):
            images, target, rows = next(batches)
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(epoch * steps + step, steps * epochs, group["peak"], args.warmup_steps)
            inputs = normalise(images, MEAN, STD, args.device).contiguous(memory_format=torch.channels_last)
            embeddings = F.normalize(model(inputs), dim=1)
            target = target.to(args.device)
            distill = distillation_loss(projection(embeddings), target)
            relation = relational_distillation_loss(embeddings, target)
            batch_labels = labels[rows.to(args.device)]
            known = batch_labels >= 0
            arcface = (F.cross_entropy(margin(embeddings[known], batch_labels[known]), batch_labels[known])
                       if known.any() else embeddings.sum() * 0)
            loss = args.distill_weight * distill + args.relation_weight * relation + args.arcface_weight * arcface
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 5.0)
            optimizer.step()
            sums += [float(distill.detach()), float(relation.detach()), float(arcface.detach())]
        return {"distill_loss": sums[0] / steps, "relation_loss": sums[1] / steps, "arcface_loss": sums[2] / steps,
                "lr": optimizer.param_groups[0]["lr"]}

    def end_epoch(finished: int, epochs: int) -> dict[str, float]:
        figures = validation_figures()
        save(finished, figures)
        if figures["val_tpr"] > best_so_far(args.out / BEST):
            save(finished, figures, args.out / BEST)
        return figures

    epoch = loop.run(train_epoch, end_epoch)
    (args.out / "done.json").write_text(json.dumps({"epochs": epoch}))


if __name__ == "__main__":
    main()
