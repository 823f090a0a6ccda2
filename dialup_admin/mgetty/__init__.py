"""Building mgetty from source with AUTO_PPP, the guide's way.

``source`` gets and checks the source (a tarball, a directory, or Debian's upstream
tarball via ``apt-get source`` with a private apt configuration); ``build`` enables
AUTO_PPP in ``policy.h``, patches what current glibc no longer compiles, runs make
with its output in a log file, and plans the install of the binary and config
templates.
"""
