"""Pure parsers and writers for the files the tool shares with admins and daemons."""
