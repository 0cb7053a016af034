from experiments import services


def experiment(key="cta-copy", weights=(0.5, 0.5), start=True, **fields):
    """An experiment through the services, with variants control, b, c, ... of `weights`."""
    names = ["control", "b", "c", "d", "e"]
    created = services.experiment_create(
        key=key,
        name=fields.pop("name", key.replace("-", " ").title()),
        variants=[
            services.VariantSpec(key=names[i], weight=w, payload={"text": names[i]})
            for i, w in enumerate(weights)
        ],
        **fields,
    )
    if start:
        created = services.experiment_start(experiment=created)
    return created
