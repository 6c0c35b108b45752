"""The demo world written as a user's files reads back as the text the world shows its models."""

import json

from tailsynth.io.loaders import load_catalog
from tailsynth.runner.demo_files import write_demo_files


def test_catalog_files_read_back_as_the_world_product_texts(small_world, tmp_path):
    files = write_demo_files(small_world, tmp_path, products=200, train_queries_per_type=1, test_queries_per_type=1,
                             baseline_pairs=10, business_labels=10)
    catalog = load_catalog(files["catalog"], id_col="product_id", title_col="title", attributes_col="attributes")
    world = dict(zip(small_world.products.column("product_id").to_pylist(), small_world.product_texts()))
    titles = dict(zip(small_world.products.column("product_id").to_pylist(), small_world.products.column("title").to_pylist()))
    # titles ending in "." read back with one dot where the world's text has two
    plain = [(world[pid], text) for pid, text in zip(catalog.ids, catalog.texts) if not titles[pid].endswith(".")]
    assert len(plain) > 190 and all(w == t for w, t in plain)
    world_attrs = dict(zip(small_world.products.column("product_id").to_pylist(), small_world.product_attributes()))
    assert [world_attrs[pid] for pid in catalog.ids] == catalog.attributes  # the same attribute texts as the world's
    # what the JSON said is still there for SQL
    import csv

    with files["catalog"].open() as f:
        row = next(csv.DictReader(f))
    attributes = dict(zip(small_world.products.column("product_id").to_pylist(),
                          small_world.products.column("attributes").to_pylist()))
    assert json.loads(row["attributes_json"]) == json.loads(attributes[row["product_id"]])
