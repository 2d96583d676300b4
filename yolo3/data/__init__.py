"""Labelled data, from exports to training batches: annotation formats (``voc``, ``coco``)
into the training-list format (``annotations``), anchors by k-means (``anchors``), and for
training the augmentation policies, targets and tf.data pipeline (``augment``,
``mosaic``, ``targets``, ``pipeline``). Class and anchor files are the package's core
(yolo3.classfiles). Only ``pipeline`` imports TensorFlow."""
