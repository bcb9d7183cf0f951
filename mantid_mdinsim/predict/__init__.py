"""predict: the four steps chained."""
