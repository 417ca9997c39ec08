"""The scheduler in one place: jobs.py reads schedule.toml into jobs and says when each is due
and which crawls it runs; runner.py runs them. `sosik schedule` is crawler/commands/schedule.py.
"""
