#!/bin/sh
# certbot deploy hook for operators who keep certbot instead of [acme]:
#   certbot renew --deploy-hook /usr/local/lib/sealpost/certbot-deploy-hook.sh
# Copies the renewed pair to where sealpost's [tls] points (0600, owned by
# sealpost) and reloads: new connections get the new certificate, open ones
# keep theirs.
set -eu
dest=/etc/sealpost/certs
install -o sealpost -g sealpost -m 0600 "$RENEWED_LINEAGE/fullchain.pem" "$dest/cert.pem"
install -o sealpost -g sealpost -m 0600 "$RENEWED_LINEAGE/privkey.pem" "$dest/key.pem"
systemctl reload sealpost
