"""Documentation generated from the commands: man pages and shell completion scripts.

``python3 -m dialup_admin.docs DESTDIR`` writes them where a Debian package has them
(``DESTDIR/usr/share/man/man8``, ``.../bash-completion/completions``...); debian/rules runs it.
"""
