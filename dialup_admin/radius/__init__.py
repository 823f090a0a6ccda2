"""RADIUS for a pool of dial-in servers: pppd's radius.so on each server, FreeRADIUS in one place.

Pure parts live here (nothing in this package touches the machine):

- :mod:`.model`    what the tool accepts: RADIUS servers, shared secrets, NAS names, port ids;
- :mod:`.nas`      the files pppd's radius.so reads (radiusclient.conf, servers, dictionary, port-id-map);
- :mod:`.users`    the FreeRADIUS users-file block and clients.conf block dialup-admin manages;
- :mod:`.crypt`    SHA-512 crypt (``$6$``) for Crypt-Password, so no password is ever stored;
- :mod:`.packet`   RADIUS packets (RFC 2865/5997) for the health probes;
- :mod:`.detail`   FreeRADIUS accounting detail files, read into calls.

FreeRADIUS itself (its layout, pid, reload, the UDP probe) is ``system/freeradius.py`` and
``system/radius_probe.py``; the plans are ``core/radius_nas.py`` and ``core/radius_server.py``.
"""
