"""The app's background jobs: which ones this tool runs (`registry`), where their schedule is kept
(`joblist`: Nextcloud's `oc_jobs`, or this tool's own record) and the worker that runs them."""
