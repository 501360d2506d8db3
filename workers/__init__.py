"""Redis -> decisions -> actions, run by rq: evaluate streams against rules, deliver alerts."""
