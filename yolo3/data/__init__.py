"""Labelled data, from exports to training batches: annotation formats (``voc``, ``coco``)
into the training-list format (``annotations``), class and anchor files
(``classfiles``), anchors by k-means (``anchors``), and for training the augmentation,
targets and tf.data pipeline (``augment``, ``targets``, ``pipeline``). Only ``pipeline``
imports TensorFlow."""
