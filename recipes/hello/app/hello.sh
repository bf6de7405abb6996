#!/bin/sh
# The demo application: proves it runs inside the image, as a non-root user.
echo "$GREETING, $1! (version $(cat /app/VERSION), uid $(id -u))"
