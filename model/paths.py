"""Where the bundled data lives. Every other module asks here instead of building paths itself."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
LEXICON_DIR = DATA_DIR / "lexicon"
TAXONOMY_PATH = DATA_DIR / "taxonomy.yaml"
CORPUS_PATH = DATA_DIR / "complaints.csv"
