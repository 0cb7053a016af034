"""Results of experiments: what each exposed fan did on each metric (outcomes), the stored
analysis of every metric (results), and the reads of the results page."""
