"""What the file loaders share: the path check and the optional pandas import."""

from pathlib import Path


def _existing_file(path):
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{path} {what}.")
    return path


def _import_pandas(caller):
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires pandas, which is not installed: pip install pandas."
        ) from exc
    return pandas
