"""Probabilistic models of customer-base analysis (Step 3): our own numpy + scipy code.

- `summary`: (x, t_x, T) per member and its grouping into weighted distinct triples;
- `fitting`: maximum likelihood on log-parameters (L-BFGS-B, analytic gradients);
- `bgnbd`: BG/NBD — P(alive), expected events in the next t;
- `gamma_gamma`: spend per transaction, for CLV.
"""
