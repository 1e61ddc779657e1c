"""The app's database repair step (docs/repair.md): broken references between its rows fixed as
the app fixes them, for `occ maintenance:repair` and `passwords:backup:restore --repair`."""
