"""Write a smaller copy of a data root holding only what the training scripts read, for a remote GPU machine.

    python -m training.pack --data-root ../shared/data --out /tmp/packed

Same layout as the source (so every script runs on it unchanged with `--data-root /tmp/packed`): the CelebA
lists, the train-partition photos of both CelebA folders and MTFL's training list with its images, photos
re-encoded as JPEG at a lower quality (sizes and coordinates unchanged). The test partitions are left out:
evaluation runs where the full data is. The teacher cache, if given, is stored as float16 beside them.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import cv2
from tqdm import tqdm

from readers import DataPaths, read_mtfl_list


def reencode(source: Path, target: Path, quality: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    image = cv2.imread(str(source), cv2.IMREAD_COLOR)
    cv2.imwrite(str(target), image, [cv2.IMWRITE_JPEG_QUALITY, quality])


def copy_lists(source_root: Path, target_root: Path) -> None:
    for folder in ("Anno", "Eval"):
        if (source_root / folder).is_dir():
            shutil.copytree(source_root / folder, target_root / folder, dirs_exist_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--wild-quality", type=int, default=50, help="JPEG quality of in-the-wild photos")
    parser.add_argument("--quality", type=int, default=75, help="JPEG quality of aligned and MTFL photos")
    args = parser.parse_args()

    data = DataPaths.from_root(args.data_root)
    out = DataPaths(args.out)
    wild, align = data.celeba, data.celeba_align
    copy_lists(wild.root, out.celeba.root)
    align_target = args.out / align.root.relative_to(data.root)
    copy_lists(align.root, align_target)
    jobs = [(wild.wild_dir / i, out.celeba.wild_dir / i, args.wild_quality) for i in wild.image_ids("train")]
    jobs += [(align.align_dir / i, align_target / "img_align_celeba" / i, args.quality)
             for i in align.image_ids("train", images="align")]
    (out.mtfl).mkdir(parents=True, exist_ok=True)
    shutil.copy(data.mtfl / "list_landmarks_train.txt", out.mtfl / "list_landmarks_train.txt")
    jobs += [(data.mtfl / p, out.mtfl / p, args.quality)
             for p in read_mtfl_list(data.mtfl / "list_landmarks_train.txt").path]
    for source, target, quality in tqdm(jobs, mininterval=10):
        reencode(source, target, quality)


if __name__ == "__main__":
    main()
