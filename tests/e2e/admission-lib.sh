# shellcheck shell=sh
# Shared by t72-t73 (stele serve --admission): audit-lib.sh's registry and
# images, a self-signed certificate for 127.0.0.1 made with openssl, the
# webhook on a free port, and AdmissionReview fixtures sent with curl over
# TLS.  Sourced after lib.sh and audit-lib.sh.

# webhook.json: app1..app4 signed (app2 by old), provenance by builder,
# every runtime rule.
admission_policy() {
	cat >webhook.json <<POL
{"keys": {"rm": {"path": "rm.pub"}, "old": {"path": "old.pub"},
          "builder": {"path": "builder.pub"}},
 "signatures": {"keys": ["rm", "old"], "threshold": 1},
 "provenance": {"keys": ["builder"]},
 "runtime": {"nonRoot": true, "readOnlyRootFilesystem": true,
             "noPrivileged": true, "noHostNamespaces": true,
             "requireLimits": ["cpu", "memory"]}}
POL
}

# Start the webhook (extra options in "$@"); sets WH (host:port), WH_PID.
start_webhook() {
	[ -f cert.pem ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || return 1
	for try in 1 2 3 4 5; do
		port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
		"$STELE" serve --admission --policy webhook.json --tls-cert cert.pem \
			--tls-key key.pem --listen "127.0.0.1:$port" --tls-verify=false "$@" \
			>/dev/null 2>"webhook.log" &
		WH_PID=$!
		test_at_exit "test_kill $WH_PID"
		i=0
		while [ $i -lt 50 ]; do
			if curl -sf --cacert cert.pem "https://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
				WH=127.0.0.1:$port
				return 0
			fi
			kill -0 $WH_PID 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		test_kill $WH_PID
	done
	return 1
}

# Stop the webhook with SIGTERM (it prints its counters to webhook.log).
# Test bodies run in a subshell, where `wait` cannot reap it: poll.
stop_webhook() {
	kill -TERM "$WH_PID" || return 1
	sw_i=0
	while kill -0 "$WH_PID" 2>/dev/null && [ $sw_i -lt 100 ]; do
		sleep 0.05
		sw_i=$((sw_i + 1))
	done
	! kill -0 "$WH_PID" 2>/dev/null
}

# review FILE OUT: POST an AdmissionReview; prints the HTTP status.
review() {
	curl -s --cacert cert.pem -H 'Content-Type: application/json' \
		--data-binary @"$1" -o "$2" -w '%{http_code}' "https://$WH/validate"
}

# fixture OUT KIND IMAGE [CHANGE...]: an AdmissionReview of a compliant
# object of KIND running IMAGE, with each CHANGE applied to its first
# container (privileged, root, writable, nomemory, nocpu, hostnet, or
# image2=REF for a second container).
fixture() {
	python3 - "$@" <<'PY'
import json, sys
out, kind, image, *changes = sys.argv[1:]
c = {"name": "app", "image": image,
     "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                         "allowPrivilegeEscalation": False},
     "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}
spec = {"containers": [c]}
for ch in changes:
    if ch == "privileged": c["securityContext"]["privileged"] = True
    elif ch == "root":
        del c["securityContext"]["runAsNonRoot"]; c["securityContext"]["runAsUser"] = 0
    elif ch == "writable": c["securityContext"]["readOnlyRootFilesystem"] = False
    elif ch == "nomemory": del c["resources"]["limits"]["memory"]
    elif ch == "nocpu": del c["resources"]["limits"]["cpu"]
    elif ch == "hostnet": spec["hostNetwork"] = True
    elif ch.startswith("image2="):
        d = json.loads(json.dumps(c)); d["name"] = "side"; d["image"] = ch[7:]
        spec["containers"].append(d)
    elif ch.startswith("init="):
        d = json.loads(json.dumps(c)); d["name"] = "init"; d["image"] = ch[5:]
        spec["initContainers"] = [d]
    else: sys.exit("unknown change " + ch)
tmpl = {"metadata": {"labels": {"app": "x"}}, "spec": spec}
obj = {"Pod": {"spec": spec},
       "CronJob": {"spec": {"schedule": "* * * * *",
                            "jobTemplate": {"spec": {"template": tmpl}}}}}.get(
    kind, {"spec": {"template": tmpl}})
obj.update({"apiVersion": "v1" if kind == "Pod" else "apps/v1", "kind": kind,
            "metadata": {"name": "x", "namespace": "prod"}})
group = {"Job": "batch", "CronJob": "batch", "Pod": ""}.get(kind, "apps")
json.dump({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
           "request": {"uid": "uid-" + kind.lower(), "operation": "CREATE",
                       "kind": {"group": group, "version": "v1", "kind": kind},
                       "resource": {"group": group, "version": "v1",
                                    "resource": kind.lower() + "s"},
                       "namespace": "prod", "object": obj}}, open(out, "w"))
PY
}

# allowed OUT: "True"/"False"; message OUT: the denial message.
allowed() { json_get "$1" .response.allowed; }
message() { json_get "$1" .response.status.message; }
