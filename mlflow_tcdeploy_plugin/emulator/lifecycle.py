"""Moves services through their statuses, as the cloud does, by running and watching real replicas.

Statuses (WeData's ``Status`` is a free string; these follow the observed values and TI-ONE's vocabulary):
NEW → CREATING → RUNNING; CREATE_FAILED when a replica ends before it is ready; TIMEOUT_EXCEPTION when it is
not ready within the start timeout; Abnormal when a running replica ends: it is restarted after a back-off that
doubles each time, and after the restart limit the service stays Abnormal with the reason, its replica left ended
(a rebuild, an update or STOP/RESUME starts again). Stopping → Stopped on STOP. A service is RUNNING only when
every replica answers its health check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .autoscaler import Autoscaler
from .replicas import DockerRunner, ProcessRunner, RunnerUnavailable, answers_http, free_port
from .resources import Pod, ServiceVersion
from .state import Store

logger = logging.getLogger(__name__)

NEW = "NEW"
CREATING = "CREATING"
RUNNING = "RUNNING"
CREATE_FAILED = "CREATE_FAILED"
TIMEOUT_EXCEPTION = "TIMEOUT_EXCEPTION"
ABNORMAL = "Abnormal"
STOPPING = "Stopping"
STOPPED = "Stopped"


@dataclass
class Timing:
    """How fast services move. Tests set the delays to 0; the CLI defaults look like the cloud, only faster."""

    new_delay: float = 1.0
    """Seconds a new service stays NEW before its replicas start."""
    ready_delay: float = 0.0
    """Least seconds in CREATING, even when the replicas are ready sooner."""
    start_timeout: float = 600.0
    """Seconds in CREATING before the service ends in TIMEOUT_EXCEPTION."""
    tick: float = 0.2
    """Seconds between two passes of the supervisor."""
    restart_backoff: float = 1.0
    """Seconds before a crashed replica's first restart; each further restart waits twice as long."""
    max_restarts: int = 5
    """Crash restarts of one replica before the service is given up (Abnormal, no more restarts)."""
    metric_window: float = 15.0
    """Seconds over which autoscaling averages a version's calls per second (``service-qps``)."""


def _pod_suffix(spec: dict[str, Any]) -> str:
    # Like a Kubernetes ReplicaSet hash: a new spec gives new pod names.
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]


class Supervisor:
    """One background thread that reconciles every service with its replicas."""

    def __init__(
        self, store: Store, data_dir: Path, timing: Timing, tracking_uri: str | None, registry_uri: str | None
    ) -> None:
        self._store = store
        self._pod_dir = data_dir / "pods"
        self._pod_dir.mkdir(parents=True, exist_ok=True)
        self.timing = timing
        self._process = ProcessRunner(tracking_uri, registry_uri)
        self._docker = DockerRunner()
        self.autoscaler = Autoscaler(timing.metric_window)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # control
    def start(self) -> None:
        self._recover()
        self._thread = threading.Thread(target=self._loop, name="tcdeploy-emulator-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._lock:
            for service in self._store.services():
                for pod in self._store.pods(service.id):
                    self._stop_pod(service, pod)

    def wake(self) -> None:
        self._wake.set()

    def reset(self) -> None:
        """Stop every replica and forget all state, in one step under the lock: no pass sees half of it."""
        with self._lock:
            for service in self._store.services():
                for pod in self._store.pods(service.id):
                    self._stop_pod(service, pod)
            self._store.clear()
            self.autoscaler.reset()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.reconcile_all()
            except Exception:
                logger.exception("supervisor pass failed")
            self._wake.wait(self.timing.tick)
            self._wake.clear()

    def _recover(self) -> None:
        """After a restart: adopt replicas still running (after a kill -9), forget the ones that are gone, and
        show services whose replicas must start again as CREATING before the first request is answered."""
        for service in self._store.services():
            present = 0
            for pod in self._store.pods(service.id):
                if self._runner(service).exit_code(pod) is None or self._given_up(pod):
                    present += 1  # running, or ended for good: a given-up replica stays given up
                else:
                    self._store.delete_pod(pod.name)
            wanted = int(service.spec.get("Replicas") or 1)
            if service.desired == "running" and service.status in (RUNNING, ABNORMAL) and present < wanted:
                self._store.set_status(service.id, CREATING)

    # operations the actions ask for
    def stop_service(self, service_id: str) -> None:
        with self._lock:
            service = self._store.service(service_id)
            if service:
                for pod in self._store.pods(service_id):
                    self._stop_pod(service, pod)

    def respec(self, service_id: str, spec: dict[str, Any], replace: bool) -> None:
        """Give a service a new spec; with ``replace`` its replicas go too (new ones start with the new spec).
        One step under the lock, so no pass can start replicas from the old spec in between."""
        with self._lock:
            if replace:
                self.stop_service(service_id)
            self._store.update_service(service_id, spec=spec)

    def rebuild_pod(self, service: ServiceVersion, pod: Pod) -> None:
        with self._lock:
            self._collect_logs(service, pod)
            self._runner(service).stop(pod)
            self._collect_logs(service, pod)
            self._store.update_pod(pod.name, restart_count=pod.restart_count + 1, ready=0, crashes=0, restart_at=None)
            self._start_replica(service, self._store.pod(pod.name) or pod)
            self._store.set_status(service.id, CREATING)
            self._store.add_event(service.id, "Pod", pod.name, "Normal", "Pod rebuilt on request")
        self.wake()

    # reconciliation
    def reconcile_all(self) -> None:
        with self._lock:
            for service in self._store.services():
                self._reconcile(service)

    def _runner(self, service: ServiceVersion) -> ProcessRunner | DockerRunner:
        return self._docker if service.spec.get("ModelSource") == "IMAGE" else self._process

    def _reconcile(self, service: ServiceVersion) -> None:
        pods = self._store.pods(service.id)
        for pod in pods:
            self._collect_logs(service, pod)
        if service.desired == "stopped":
            self._when_stopped(service, pods)
            return
        if service.status == RUNNING and service.spec.get("ScaleMode") == "AUTO":
            try:
                service = self._autoscaled(service)
            except Exception:  # one version's policy must not stop the others' reconciliation
                logger.exception("autoscaling %s failed", service.id)
        # Stopping/Stopped with replicas wanted again (RESUME) recover like Abnormal.
        step = _STATUS_STEPS.get(service.status, Supervisor._when_recovering)
        step(self, service, pods)

    def _autoscaled(self, service: ServiceVersion) -> ServiceVersion:
        """The service with the replica count its policy wants now (scheduled jobs first)."""
        spec = self.autoscaler.scheduled(service.id, service.spec) or service.spec
        replicas = int(spec.get("Replicas") or 1)
        wanted = self.autoscaler.wanted(service.id, spec, replicas)
        if spec is service.spec and wanted == replicas:
            return service
        self._store.update_service(service.id, spec={**spec, "Replicas": wanted})
        if wanted != replicas:
            way = "up" if wanted > replicas else "down"
            self._store.add_event(
                service.id, "Deployment", service.id, "Normal", f"Scaled {way} replica set to {wanted}"
            )
        return self._store.service(service.id) or service

    def _when_stopped(self, service: ServiceVersion, pods: list[Pod]) -> None:
        for pod in pods:
            self._stop_pod(service, pod)
        if service.status != STOPPED:
            self._store.set_status(service.id, STOPPED)
            self._store.add_event(service.id, "Deployment", service.id, "Normal", "Service stopped")

    def _when_new(self, service: ServiceVersion, pods: list[Pod]) -> None:
        sid = service.id
        if time.time() - service.status_since >= self.timing.new_delay:
            self._store.set_status(sid, CREATING)
            replicas = service.spec.get("Replicas", 1)
            self._store.add_event(sid, "Deployment", sid, "Normal", f"Scaled up replica set to {replicas}")

    def _when_failed(self, service: ServiceVersion, pods: list[Pod]) -> None:
        """A failed service stays failed until an update or STOP/RESUME."""

    def _when_creating(self, service: ServiceVersion, pods: list[Pod]) -> None:
        if not self._run_replicas(service, pods):
            return
        waited = time.time() - service.status_since
        if self._all_ready(service):
            if waited >= self.timing.ready_delay:
                self._mark_running(service)
        elif waited > self.timing.start_timeout:
            self._fail(
                service, TIMEOUT_EXCEPTION, f"The replicas were not ready within {self.timing.start_timeout:g} seconds."
            )

    def _when_running(self, service: ServiceVersion, pods: list[Pod]) -> None:
        if self._run_replicas(service, pods) and not self._serving(service):
            self._store.set_status(service.id, CREATING)  # replicas are being (re)created

    def _serving(self, service: ServiceVersion) -> bool:
        """Whether a running service stays RUNNING: all its replicas ready, or, autoscaled, one of them (the
        policy's new replicas join as they get ready)."""
        if service.spec.get("ScaleMode") == "AUTO":
            return any(p.ready for p in self._store.pods(service.id))
        return self._all_ready(service)

    def _when_recovering(self, service: ServiceVersion, pods: list[Pod]) -> None:
        if self._run_replicas(service, pods) and self._all_ready(service):
            self._mark_running(service)

    def _all_ready(self, service: ServiceVersion) -> bool:
        return all(p.ready for p in self._store.pods(service.id))

    def _mark_running(self, service: ServiceVersion) -> None:
        self._store.set_status(service.id, RUNNING)
        self._store.add_event(service.id, "Deployment", service.id, "Normal", "All replicas are available")

    def _run_replicas(self, service: ServiceVersion, pods: list[Pod]) -> bool:
        """Bring the replicas to the wanted count, restart ended ones, probe the rest; False when the service
        has failed or been given up in the process."""
        want = int(service.spec.get("Replicas") or 1)
        for pod in pods[want:]:
            self._stop_pod(service, pod)
        pods = pods[:want]
        try:
            while len(pods) < want:
                pods.append(self._new_pod(service))
        except RunnerUnavailable as exc:
            self._fail(service, CREATE_FAILED, str(exc))
            return False
        for pod in pods:
            code = self._runner(service).exit_code(pod)
            if code is not None:
                if not self._replica_ended(service, pod, code):
                    return False
            elif not pod.ready and answers_http(pod.port):
                self._store.update_pod(pod.name, ready=1)
                self._store.add_event(service.id, "Pod", pod.name, "Normal", "Replica is ready")
        return True

    def _given_up(self, pod: Pod) -> bool:
        return int(pod.crashes) > self.timing.max_restarts

    def _replica_ended(self, service: ServiceVersion, pod: Pod, code: int) -> bool:
        """Handle a replica that has ended; False when the service has failed or been given up."""
        if self._given_up(pod):
            return False
        now = time.time()
        if pod.restart_at is not None:
            if now >= pod.restart_at:
                self._store.update_pod(pod.name, restart_count=pod.restart_count + 1, ready=0, restart_at=None)
                try:
                    self._start_replica(service, self._store.pod(pod.name) or pod)
                except RunnerUnavailable as exc:
                    self._fail(service, ABNORMAL, str(exc))
                    return False
            return True
        self._collect_logs(service, pod)
        last = self._store.last_logs(pod.name, 1)
        detail = f": {last[0]}" if last else ""
        if service.status == CREATING:
            self._fail(
                service, CREATE_FAILED, f"Replica {pod.name} exited with code {code} before it became ready{detail}"
            )
            return False
        reason = f"Replica {pod.name} exited with code {code}{detail}"
        crashes = int(pod.crashes) + 1
        if crashes > self.timing.max_restarts:
            self._store.update_pod(pod.name, crashes=crashes, ready=0)
            given_up = f"{reason} (restarted {self.timing.max_restarts} times; given up)"
            self._store.set_status(service.id, ABNORMAL, given_up)
            self._store.add_event(service.id, "Pod", pod.name, "Warning", given_up)
            logger.info("service %s: %s", service.id, given_up)
            return False
        delay = self.timing.restart_backoff * 2 ** (crashes - 1)
        self._store.update_pod(pod.name, crashes=crashes, ready=0, restart_at=now + delay)
        self._store.set_status(service.id, ABNORMAL, f"{reason}; restarting in {delay:g}s")
        self._store.add_event(
            service.id, "Pod", pod.name, "Warning", f"Back-off {delay:g}s restarting the replica: {reason}"
        )
        return True

    def _fail(self, service: ServiceVersion, status: str, reason: str) -> None:
        for pod in self._store.pods(service.id):
            self._stop_pod(service, pod)
        self._store.set_status(service.id, status, reason)
        self._store.add_event(service.id, "Deployment", service.id, "Warning", reason)
        logger.info("service %s: %s: %s", service.id, status, reason)

    def _new_pod(self, service: ServiceVersion) -> Pod:
        tione_id = service.spec["_TiOneServiceId"]
        name = f"{tione_id}-{_pod_suffix(service.spec)}-{secrets.token_hex(3)[:5]}"
        pod = Pod(name, service.id, str(uuid.uuid4()), time.time(), str(self._pod_dir / f"{name}.log"))
        self._store.add_pod(pod)
        self._store.add_event(service.id, "Pod", name, "Normal", "Created pod")
        return self._start_replica(service, self._store.pod(name) or pod)

    def _start_replica(self, service: ServiceVersion, pod: Pod) -> Pod:
        port = free_port()
        started = self._runner(service).start(replace(pod, port=port), service.spec)
        self._store.update_pod(pod.name, port=port, pid=started["pid"], container_id=started["container_id"])
        return self._store.pod(pod.name) or pod

    def _stop_pod(self, service: ServiceVersion, pod: Pod) -> None:
        # Logs are read before (a container's go with it) and after (a process writes its last lines on exit).
        self._collect_logs(service, pod)
        with contextlib.suppress(RunnerUnavailable):  # nothing runs on an engine that is not there
            self._runner(service).stop(pod)
        self._collect_logs(service, pod)
        self._store.delete_pod(pod.name)

    def _collect_logs(self, service: ServiceVersion, pod: Pod) -> None:
        current = self._store.pod(pod.name)
        if current is None:
            return
        try:
            lines, offset = self._runner(service).read_logs(current)
        except RunnerUnavailable:
            return
        if lines:
            now = time.time()
            self._store.add_logs(service.id, pod.name, [(now, line) for line in lines])
            self._store.update_pod(pod.name, log_offset=offset)


# One step per status of a service whose replicas are wanted; others recover (Supervisor._when_recovering).
_STATUS_STEPS: dict[str, Callable[[Supervisor, ServiceVersion, list[Pod]], None]] = {
    NEW: Supervisor._when_new,
    CREATING: Supervisor._when_creating,
    RUNNING: Supervisor._when_running,
    CREATE_FAILED: Supervisor._when_failed,
    TIMEOUT_EXCEPTION: Supervisor._when_failed,
}
