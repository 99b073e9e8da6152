"""`make bench-ingest`: the ingest pipeline's throughput against the bare embedding model's.

Generates Spanish Markdown, Word and PDF documents; starts the whole stack (the broker, the
four services, a database of its own that is dropped at the end); uploads every document
through the gateway and waits until all are ready. Pipeline chunks/s = the documents' total
`chunk_count` / the time from the first upload to the last `ready_at`.

Then, with the stack stopped so that nothing competes for the CPU, it rebuilds the same chunks
in-process with ingest's own extraction and chunking, checks they are as many as the pipeline
made, and times the bare model embedding them in the pipeline's batches, with the embedder made
as ingest makes it (the same replicas side by side), both one batch after another and with as
many documents at once as ingest takes; the faster counts. It also shows where the machine's
CPU went while the pipeline ran, the model's own work against everything else: the model's
share is about the ratio. A benchmark, not a test: it prints numbers, and fails only where it
cannot give them.
"""

import argparse
import asyncio
import io
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from devstack.client import Account, list_documents, signup, upload
from devstack.database import drop_database
from devstack.stack import LocalStack, ServiceFailed, StackConfig

ADMIN_DSN = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
STAGES = ("extracting", "chunking", "embedding", "indexing")
FORMATS = ("md", "docx", "pdf")
CONTENT_TYPES = {
    "md": "text/markdown",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


class BenchmarkFailed(Exception):
    """The run cannot give a number: its message says why."""


# ---------------------------------------------------------------------------------------------
# Documents: internal policies of made-up companies, in Spanish, with numbered sections.

TOPICS = (
    "Vacaciones y permisos",
    "Teletrabajo",
    "Gastos de viaje",
    "Seguridad de la información",
    "Prevención de riesgos laborales",
    "Formación y desarrollo",
    "Evaluación del desempeño",
    "Protección de datos personales",
    "Compras y proveedores",
    "Atención al cliente",
    "Igualdad y diversidad",
    "Horario y registro de jornada",
    "Nóminas y retribución",
    "Uso de vehículos de empresa",
    "Equipos informáticos",
    "Comunicación interna",
    "Canal ético y denuncias",
    "Incorporación de nuevos empleados",
)
ASPECTS = (
    "ámbito de aplicación",
    "solicitud y aprobación",
    "plazos",
    "responsabilidades",
    "excepciones",
    "documentación necesaria",
    "seguimiento y control",
    "incumplimientos",
)
SUBJECTS = (
    "Cada empleado",
    "El supervisor directo",
    "El departamento de personas",
    "La dirección financiera",
    "El comité de seguridad",
    "Todo el personal de la oficina de {city}",
    "El responsable de cada área",
    "La persona que coordine el proyecto",
    "El equipo de administración",
    "Quien se incorpore a la plantilla",
    "El delegado de protección de datos",
    "La empresa",
)
ACTIONS = (
    "debe comunicar",
    "revisará",
    "podrá solicitar",
    "tiene la obligación de conservar",
    "aprobará por escrito",
    "registrará en la intranet",
    "notificará al comité",
    "deberá justificar",
    "se compromete a resolver",
    "archivará durante {years} años",
    "evaluará cada trimestre",
    "comprobará",
)
OBJECTS = (
    "las solicitudes de vacaciones",
    "los justificantes de gasto",
    "el calendario de turnos",
    "las incidencias de seguridad",
    "el plan de formación anual",
    "los contratos con proveedores",
    "las reclamaciones de los clientes",
    "el inventario de portátiles y teléfonos",
    "las horas extraordinarias",
    "los datos personales de los candidatos",
    "las dietas y los kilometrajes",
    "los objetivos individuales",
    "las copias de seguridad",
    "los accesos a los sistemas internos",
)
CIRCUMSTANCES = (
    "en un plazo máximo de {days} días hábiles",
    "antes del día {day} de cada mes",
    "con al menos {days} días de antelación",
    "a través del portal del empleado",
    "siguiendo el procedimiento aprobado en {year}",
    "cuando el importe supere los {euros} euros",
    "salvo causa de fuerza mayor debidamente acreditada",
    "de acuerdo con el convenio colectivo vigente",
    "sin perjuicio de lo que establezca la legislación aplicable",
    "con copia al departamento de personas",
    "en la reunión de seguimiento de cada {weekday}",
    "siempre que el presupuesto del área lo permita",
)
REASONS = (
    "para que la planificación del equipo no se vea afectada",
    "de modo que cualquier auditoría pueda reconstruir las decisiones tomadas",
    "porque así lo exige la normativa de protección de datos",
    "con el fin de reducir los costes operativos",
    "para garantizar un trato igual a todas las personas de la plantilla",
    "ya que los retrasos generan recargos de los proveedores",
    "de manera que los clientes reciban una respuesta coherente",
    "para evitar accesos no autorizados a la información de la empresa",
)
CITIES = ("Madrid", "Sevilla", "Valencia", "Bilbao", "Zaragoza", "Málaga", "Vigo", "Murcia")
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes")
COMPANY_WORDS = ("Grupo", "Industrias", "Servicios", "Logística", "Consultora", "Talleres")
COMPANY_NAMES = ("Alameda", "Berrocal", "Cierzo", "Duero", "Esparto", "Fresno", "Giralda")


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: list[str]


@dataclass(frozen=True)
class GeneratedDocument:
    filename: str
    title: str
    format: str
    content: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def _sentence(rng: random.Random) -> str:
    fill = {
        "city": rng.choice(CITIES),
        "years": rng.randint(2, 10),
        "days": rng.randint(2, 30),
        "day": rng.randint(1, 28),
        "year": rng.randint(2015, 2025),
        "euros": rng.choice((150, 300, 600, 1200, 3000, 6000)),
        "weekday": rng.choice(WEEKDAYS),
    }
    parts = [rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(OBJECTS)]
    parts.append(rng.choice(CIRCUMSTANCES))
    if rng.random() < 0.6:
        parts[-1] += ","
        parts.append(rng.choice(REASONS))
    return " ".join(parts).format(**fill) + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))


def _outline(rng: random.Random, sections: int, paragraphs: int) -> tuple[str, list[Section]]:
    company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NAMES)}"
    topic = rng.choice(TOPICS)
    title = f"{topic}: política interna de {company}"
    body = [
        Section(
            f"{number}. {topic}: {rng.choice(ASPECTS)}",
            [_paragraph(rng) for _ in range(paragraphs)],
        )
        for number in range(1, sections + 1)
    ]
    return title, body


def _markdown(title: str, sections: list[Section]) -> bytes:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
    return "\n".join(lines).encode()


def _docx(title: str, sections: list[Section]) -> bytes:
    from docx import Document as WordDocument

    document = WordDocument()
    document.add_heading(title, level=1)
    for section in sections:
        document.add_heading(section.heading, level=2)
        for paragraph in section.paragraphs:
            document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf(title: str, sections: list[Section]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story = [Paragraph(title, styles["Title"])]
    for section in sections:
        story.append(Paragraph(section.heading, styles["Heading2"]))
        story += [Paragraph(paragraph, styles["BodyText"]) for paragraph in section.paragraphs]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=title).build(story)
    return buffer.getvalue()


RENDERERS: dict[str, Callable[[str, list[Section]], bytes]] = {
    "md": _markdown,
    "docx": _docx,
    "pdf": _pdf,
}


def generate_documents(
    count: int,
    sections: int,
    paragraphs: int,
    formats: Sequence[str],
    seed: int,
    name: str = "politica",
) -> list[GeneratedDocument]:
    """Different prose in every document, so none is refused as a duplicate of another."""
    rng = random.Random(f"{name}-{seed}")  # noqa: S311 (a benchmark's input, not a secret)
    documents = []
    for number in range(1, count + 1):
        document_format = formats[(number - 1) % len(formats)]
        title, body = _outline(rng, sections, paragraphs)
        documents.append(
            GeneratedDocument(
                filename=f"{name}-{number:03d}.{document_format}",
                title=f"{title} ({number})",
                format=document_format,
                content=RENDERERS[document_format](f"{title} ({number})", body),
            )
        )
    return documents


# ---------------------------------------------------------------------------------------------
# CPU accounting from /proc (Linux): what each of our processes used during a phase, and what
# the rest of the machine used meanwhile (someone else's work there makes the numbers noisy).
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_busy_seconds() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def _process_seconds(pid: int) -> float:
    """User + system CPU of a live process and of its children it has waited for."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICKS


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@dataclass(frozen=True)
class CpuSample:
    at: float
    machine: float
    processes: dict[str, dict[int, float]]
    """CPU seconds so far by name, then by pid (a name may cover several processes)."""

    @classmethod
    def take(cls, pids: dict[str, list[int]]) -> "CpuSample":
        return cls(
            time.monotonic(),
            _machine_busy_seconds(),
            {name: {pid: _process_seconds(pid) for pid in group} for name, group in pids.items()},
        )


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds by process over a phase, and the share of the machine others took."""

    wall: float
    processes: dict[str, float]
    others: float

    @classmethod
    def between(cls, first: CpuSample, last: CpuSample) -> "CpuUse":
        # A process born during the phase spent all of its CPU in it.
        processes = {
            name: sum(
                max(0.0, seconds - first.processes.get(name, {}).get(pid, 0.0))
                for pid, seconds in group.items()
            )
            for name, group in last.processes.items()
        }
        others = max(0.0, last.machine - first.machine - sum(processes.values()))
        return cls(last.at - first.at, processes, others)

    @property
    def others_share(self) -> float:
        return self.others / (self.wall * (os.cpu_count() or 1))

    def note(self) -> str:
        note = f"other processes took {self.others_share:.0%} of the {os.cpu_count()} cores"
        if self.others_share > 0.1:
            note += " (NOISY: rerun on a quiet machine)"
        return note


def _stack_pids(stack: LocalStack) -> dict[str, list[int]]:
    pids = {name: [process.pid] for name, process in stack.processes.items()}
    if stack.broker.process:
        pids["broker"] = [stack.broker.process.pid]
    pids["postgres"] = _postgres_pids()
    pids["bench"] = [os.getpid()]
    return pids


def cpu_sample(pids: dict[str, list[int]]) -> CpuSample | None:
    """None where there is no /proc to read (not Linux): the report then leaves CPU out."""
    try:
        return CpuSample.take(pids)
    except (OSError, ValueError, IndexError):
        return None


def cpu_use(first: CpuSample | None, last: CpuSample | None) -> CpuUse | None:
    return CpuUse.between(first, last) if first and last else None


# ---------------------------------------------------------------------------------------------
# The pipeline: the documents through the gateway and the services.


@dataclass(frozen=True)
class PipelineRun:
    documents: list[dict[str, Any]]
    """The documents as `GET /v1/documents/{id}` answers once ready, in upload order."""
    seconds: float
    cpu: CpuUse | None

    @property
    def chunks(self) -> int:
        return sum(int(document["chunk_count"]) for document in self.documents)

    def stage_seconds(self, stage: str) -> float | None:
        key = f"{stage}_ms"
        if any(key not in document["stage_timings"] for document in self.documents):
            return None
        return sum(int(document["stage_timings"][key]) for document in self.documents) / 1000


@contextmanager
def running_stack(workdir: Path, database: str) -> Iterator[LocalStack]:
    stack = LocalStack(
        StackConfig(
            workdir=workdir,
            database=database,
            admin_dsn=ADMIN_DSN,
            log_to_files=True,
            # Throughput, not quotas: the corpus is larger than a starter plan stores.
            extra_env={"SIGNUP_PLAN": "enterprise"},
        )
    )
    try:
        print("starting the broker, the database and the four services…", flush=True)
        started = time.monotonic()
        stack.start()
        print(f"stack up in {time.monotonic() - started:.0f} s", flush=True)
        yield stack
    finally:
        with signals_ignored():
            stack.stop()
            try:
                asyncio.run(drop_database(ADMIN_DSN, database))
            except (OSError, asyncpg.PostgresError) as exc:
                print(f"could not drop the database {database}: {exc}", file=sys.stderr)
        print("stack stopped", flush=True)


@contextmanager
def signals_ignored() -> Iterator[None]:
    """A second Ctrl-C must not leave services running half-stopped."""
    previous = (
        signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.signal(signal.SIGTERM, signal.SIG_IGN),
    )
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def _check_alive(stack: LocalStack) -> None:
    for name, process in stack.processes.items():
        if process.poll() is not None:
            raise BenchmarkFailed(
                f"{name} exited with {process.returncode} during the run:\n{stack.log_tail(name)}"
            )


def run_pipeline(
    stack: LocalStack,
    documents: Sequence[GeneratedDocument],
    warmup: Sequence[GeneratedDocument],
    timeout: float,
    poll: float,
) -> PipelineRun:
    """Uploads the warm-up documents and waits for them, untimed; then the measured ones."""
    with httpx.Client(base_url=stack.url("gateway"), timeout=60.0) as api:
        account = signup(api, f"Bench {uuid.uuid4().hex[:6]}")
        if warmup:
            print(f"warming up the services with {len(warmup)} small documents…", flush=True)
            started = time.monotonic()
            ids = [_upload(api, account, document) for document in warmup]
            _wait_until_ready(stack, api, account, ids, started, timeout, poll)
        print(f"uploading {len(documents)} documents…", flush=True)
        first_sample = cpu_sample(_stack_pids(stack))
        started_at = datetime.now(UTC)
        started = time.monotonic()
        ids = [_upload(api, account, document) for document in documents]
        print(f"uploaded in {time.monotonic() - started:.1f} s; waiting until all are ready…")
        _wait_until_ready(stack, api, account, ids, started, timeout, poll)
        last_sample = cpu_sample(_stack_pids(stack))
        final = [_read(api, account, document_id) for document_id in ids]
    last_ready = max(datetime.fromisoformat(document["ready_at"]) for document in final)
    return PipelineRun(
        final, (last_ready - started_at).total_seconds(), cpu_use(first_sample, last_sample)
    )


def _upload(api: httpx.Client, account: Account, document: GeneratedDocument) -> str:
    response = upload(
        api,
        account,
        document.filename,
        document.content,
        document.content_type,
        title=document.title,
    )
    if response.status_code != 202:
        raise BenchmarkFailed(f"upload of {document.filename} answered {response.text}")
    document_id: str = response.json()["id"]
    return document_id


def _read(api: httpx.Client, account: Account, document_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/documents/{document_id}", headers=account.headers)
    if response.status_code != 200:
        raise BenchmarkFailed(f"GET /v1/documents/{document_id} answered {response.text}")
    body: dict[str, Any] = response.json()
    return body


def _wait_until_ready(
    stack: LocalStack,
    api: httpx.Client,
    account: Account,
    ids: Sequence[str],
    started: float,
    timeout: float,
    poll: float,
) -> None:
    """Polls the company's document list, one request per round rather than one per document,
    so the poller takes next to no CPU from the pipeline it measures."""
    wanted = set(ids)
    reported = 0.0
    while True:
        _check_alive(stack)
        statuses = {d["id"]: d for d in list_documents(api, account) if d["id"] in wanted}
        failed = [d for d in statuses.values() if d["status"] == "failed"]
        if failed:
            reasons = "\n".join(f"  {d['filename']}: {d['failure_reason']}" for d in failed)
            raise BenchmarkFailed(f"{len(failed)} document(s) failed:\n{reasons}")
        ready = [d for d in statuses.values() if d["status"] == "ready"]
        elapsed = time.monotonic() - started
        if len(ready) == len(wanted):
            print(f"all {len(ready)} ready after {elapsed:.1f} s", flush=True)
            return
        if elapsed > timeout:
            waiting = sorted({d["status"] for d in statuses.values() if d["status"] != "ready"})
            raise BenchmarkFailed(
                f"only {len(ready)} of {len(wanted)} documents ready after {timeout:.0f} s "
                f"(others: {', '.join(waiting)}); logs in {stack.workdir / 'logs'}"
            )
        if elapsed - reported >= 15:
            reported = elapsed
            chunks = sum(int(d["chunk_count"]) for d in ready)
            print(f"  {elapsed:5.0f} s: {len(ready)}/{len(wanted)} ready, {chunks} chunks")
        time.sleep(poll)


# ---------------------------------------------------------------------------------------------
# The bare model: the same chunks, in the same batches, in this process.


@dataclass(frozen=True)
class Timing:
    seconds: float
    cpu: float
    """CPU seconds this process spent meanwhile, all of its threads together."""


@dataclass(frozen=True)
class ModelRun:
    chunk_counts: list[int]
    extracting_seconds: float
    chunking_seconds: float
    one_after_another: list[Timing]
    """Embedding every chunk, one slice after another, once per round."""
    at_once: list[Timing]
    """The same with as many documents at once as ingest takes, once per round."""
    cpu: CpuUse | None
    embedder: str
    """How the embedder ran: its replicas and torch threads, the same in ingest."""

    @property
    def chunks(self) -> int:
        return sum(self.chunk_counts)

    @property
    def rounds(self) -> list[Timing]:
        """Each round's faster way: the bar the pipeline is measured against."""
        return [
            min(pair, key=lambda timing: timing.seconds)
            for pair in zip(self.one_after_another, self.at_once, strict=True)
        ]

    @property
    def median(self) -> Timing:
        """The median round (the lower of the middle two for an even count)."""
        ordered = sorted(self.rounds, key=lambda timing: timing.seconds)
        return ordered[(len(ordered) - 1) // 2]

    @property
    def seconds(self) -> float:
        return self.median.seconds


def run_model(
    documents: Sequence[GeneratedDocument], warmup: Sequence[GeneratedDocument], rounds: int
) -> ModelRun:
    """Ingest's own extraction and chunking with the settings the services read, then
    `Embedder.embed` over every document's chunks in slices of `chunks_per_event`, as ingest
    embeds them, `rounds` times in two ways: one slice after another, and with as many
    documents at once as ingest takes (callers in threads, each taking the next document),
    which keeps every replica busy as the pipeline can. Each round counts its faster way.
    The warm-up documents go through the same steps first, untimed."""
    import torch

    from common.embedding import Embedder
    from ingest.chunking import HuggingFaceTokenizer, chunk_document
    from ingest.extraction import extract_document
    from ingest.settings import IngestSettings

    settings = IngestSettings()
    # As ingest makes it: the same replicas side by side, torch threads split among them.
    embedder = Embedder(settings.embedding_model, workers=settings.embedding_workers)
    tokenizer = HuggingFaceTokenizer(embedder.tokenizer)
    timings = {"extracting": 0.0, "chunking": 0.0}

    @contextmanager
    def timed(stage: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        timings[stage] += time.perf_counter() - started

    def chunk_texts(document: GeneratedDocument) -> list[str]:
        with timed("extracting"):
            extracted = extract_document(document.content, settings.extraction_limits())
        with timed("chunking"):
            chunks = chunk_document(
                extracted,
                tokenizer,
                max_tokens=settings.chunk_max_tokens,
                overlap_tokens=settings.chunk_overlap_tokens,
            )
        return [chunk.text for chunk in chunks]

    def embed(texts: list[str]) -> None:
        size = settings.chunks_per_event
        for first in range(0, len(texts), size):
            embedder.embed(texts[first : first + size])

    def embed_all(texts: list[list[str]], at_once: int) -> Timing:
        started, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(at_once) as callers:
            list(callers.map(embed, texts))
        return Timing(time.perf_counter() - started, time.process_time() - cpu)

    for document in warmup:
        embed(chunk_texts(document))
    timings = dict.fromkeys(timings, 0.0)
    texts = [chunk_texts(document) for document in documents]
    first_sample = cpu_sample({"bench": [os.getpid()]})
    one_after_another, at_once = [], []
    for _ in range(rounds):
        one_after_another.append(embed_all(texts, 1))
        at_once.append(embed_all(texts, settings.concurrent_uploads))
    last_sample = cpu_sample({"bench": [os.getpid()]})
    return ModelRun(
        [len(t) for t in texts],
        timings["extracting"],
        timings["chunking"],
        one_after_another,
        at_once,
        cpu_use(first_sample, last_sample),
        f"{embedder.workers} replica(s) side by side, {torch.get_num_threads()} torch "
        f"thread(s) each; ingest takes {settings.concurrent_uploads} uploads at once",
    )


def check_same_chunks(
    documents: Sequence[GeneratedDocument], pipeline: PipelineRun, model: ModelRun
) -> None:
    different = [
        f"  {document.filename}: pipeline {served['chunk_count']}, in-process {count}"
        for document, served, count in zip(
            documents, pipeline.documents, model.chunk_counts, strict=True
        )
        if served["chunk_count"] != count
    ]
    if different:
        raise BenchmarkFailed(
            "the in-process chunks differ from the pipeline's, so the two rates would not be "
            "comparable (are the services running other code or settings?):\n"
            + "\n".join(different)
        )


# ---------------------------------------------------------------------------------------------
# The report.


def _rate(chunks: int, seconds: float | None) -> str:
    return f"{chunks / seconds:,.1f}" if seconds else "-"


def _seconds(value: float | None) -> str:
    return f"{value:,.1f}" if value is not None else "-"


def _latencies(pipeline: PipelineRun) -> list[float]:
    """Per document, from ingest taking it up (its row's `created_at`) to `ready_at`."""
    return [
        (
            datetime.fromisoformat(d["ready_at"]) - datetime.fromisoformat(d["created_at"])
        ).total_seconds()
        for d in pipeline.documents
    ]


def cpu_report(pipeline: CpuUse, model: ModelRun, model_machine: CpuUse) -> None:
    """Where the machine's CPU went while the pipeline ran. The model's own work there is taken
    to be what the bare model spent on the same chunks, so its share of the machine is about
    the ratio: what is left for the model after the rest of the stack and idle time."""
    cores = os.cpu_count() or 1
    machine = cores * pipeline.wall
    model_work = model.median.cpu
    stack = {name: s for name, s in pipeline.processes.items() if name not in ("ingest", "bench")}
    rows = [
        ("the model's own work", model_work, "the bare model's CPU on the same chunks"),
        ("ingest besides the model", pipeline.processes.get("ingest", 0.0) - model_work, ""),
        (
            "the rest of the stack",
            sum(stack.values()),
            ", ".join(f"{name} {s:,.1f}" for name, s in sorted(stack.items(), key=lambda i: -i[1])),
        ),
        ("other processes", pipeline.others, "extraction's parsers among them"),
        ("this benchmark", pipeline.processes.get("bench", 0.0), "uploading and polling"),
    ]
    rows.append(("idle", machine - sum(seconds for _, seconds, _ in rows), ""))
    print()
    print(f"  where the CPU went while the pipeline ran ({cores} cores x {pipeline.wall:,.1f} s):")
    for label, seconds, detail in rows:
        print(f"    {label:<26}{seconds:>7,.1f}{seconds / machine:>6.0%}  {detail}".rstrip())
    print(f"    {pipeline.note()}")
    print(
        f"  the bare model ran with {model.median.cpu / model.seconds:.2f} of the {cores} cores "
        f"busy; {model_machine.note()}"
    )


def _median_seconds(timings: Sequence[Timing]) -> float:
    return statistics.median(timing.seconds for timing in timings)


def report(documents: Sequence[GeneratedDocument], pipeline: PipelineRun, model: ModelRun) -> None:
    chunks = pipeline.chunks
    counts = {f: sum(d.format == f for d in documents) for f in FORMATS}
    formats = ", ".join(f"{count} {f}" for f, count in counts.items() if count)
    megabytes = sum(len(d.content) for d in documents) / 1e6
    pipeline_rate = chunks / pipeline.seconds
    model_rate = chunks / model.seconds
    print()
    print("bench-ingest")
    print(f"  documents                {len(documents)} ({formats}; {megabytes:.1f} MB)")
    print(f"  chunks                   {chunks:,}")
    print(f"  pipeline seconds         {pipeline.seconds:,.1f}  (first upload to last ready_at)")
    print(f"  pipeline chunks/s        {pipeline_rate:,.1f}")
    if len(model.rounds) == 1:
        embed_note = f"{model.seconds:,.1f} s of Embedder.embed"
    else:
        low = chunks / max(timing.seconds for timing in model.rounds)
        high = chunks / min(timing.seconds for timing in model.rounds)
        embed_note = f"median of {len(model.rounds)} rounds, {low:,.1f} to {high:,.1f}"
    ways = (
        "the faster of: one slice after another "
        f"{_rate(chunks, _median_seconds(model.one_after_another))}, "
        f"documents at once {_rate(chunks, _median_seconds(model.at_once))}"
    )
    print(f"  bare-model chunks/s      {model_rate:,.1f}  ({embed_note})")
    print(f"                           ({ways})")
    one_after_another = chunks / _median_seconds(model.one_after_another)
    print(
        f"  ratio (pipeline/model)   {pipeline_rate / model_rate:.2f}  "
        f"({pipeline_rate / one_after_another:.2f} against one slice after another)"
    )
    print(f"  embedder                 {model.embedder}")

    print()
    print("  stages, summed over documents (stage_timings):")
    print(f"  {'stage':<12}{'pipeline s':>12}{'of wall':>10}{'chunks/s':>11}{'in-process s':>14}")
    in_process = {
        "extracting": model.extracting_seconds,
        "chunking": model.chunking_seconds,
        "embedding": model.seconds,
    }
    for stage in STAGES:
        seconds = pipeline.stage_seconds(stage)
        share = f"{seconds / pipeline.seconds:.0%}" if seconds is not None else "-"
        print(
            f"  {stage:<12}{_seconds(seconds):>12}{share:>10}{_rate(chunks, seconds):>11}"
            f"{_seconds(in_process.get(stage)):>14}"
        )
    latencies = _latencies(pipeline)
    print(
        f"  per document, ingest taking it up to ready: mean "
        f"{sum(latencies) / len(latencies):,.1f} s, max {max(latencies):,.1f} s"
    )

    if pipeline.cpu and model.cpu:
        cpu_report(pipeline.cpu, model, model.cpu)

    print()
    print("  The bare model was timed in this process after the stack had stopped, so the two did")
    print("  not compete for the CPU, on the same chunks rebuilt with ingest's extraction and")
    print("  chunking, in slices of chunks_per_event per document as ingest embeds them, with the")
    print("  embedder made as ingest makes it; the faster of two ways counts. Both sides were")
    print("  warmed up first, untimed, with the same small documents. Stage sums exceed the wall")
    print("  time where documents are processed at once. postgres is every postgres process on")
    print("  the machine, whichever database it serves; extraction runs in processes the CPU")
    print("  figures do not see (they count among the others).")


# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=24, help="how many (default 24)")
    parser.add_argument(
        "--sections", type=int, default=8, help="numbered sections per document (default 8)"
    )
    parser.add_argument(
        "--paragraphs", type=int, default=6, help="paragraphs per section (default 6)"
    )
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help="comma-separated, taken in turn (default md,docx,pdf)",
    )
    parser.add_argument("--seed", type=int, default=1, help="of the generated prose (default 1)")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds to wait for ready (default 1800)"
    )
    parser.add_argument(
        "--warmup-documents",
        type=int,
        default=None,
        help="small untimed documents pushed through first (default one per format)",
    )
    parser.add_argument(
        "--model-rounds",
        type=int,
        default=1,
        help="times the bare model embeds every chunk; the median counts (default 1)",
    )
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the logs, blobs and Qdrant files"
    )
    args = parser.parse_args(argv)
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = set(args.formats) - set(FORMATS)
    if unknown or not args.formats:
        parser.error(f"--formats takes some of {', '.join(FORMATS)}")
    for name in ("documents", "sections", "paragraphs", "model_rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup_documents is None:
        args.warmup_documents = len(args.formats)
    return args


def benchmark(args: argparse.Namespace) -> None:
    run_started = time.monotonic()
    documents = generate_documents(
        args.documents, args.sections, args.paragraphs, args.formats, args.seed
    )
    warmup = generate_documents(
        args.warmup_documents, 2, 3, args.formats, args.seed, name="calentamiento"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    database = f"kp_bench_{uuid.uuid4().hex[:10]}"
    succeeded = False
    try:
        with running_stack(workdir, database) as stack:
            print(f"service logs in {workdir / 'logs'}", flush=True)
            # The rate comes from the documents' own ready_at, not from when the poller sees
            # them; the CPU figures run until the poller sees the last one ready, so it polls
            # often enough that their idle tail stays short, and seldom enough to cost little.
            pipeline = run_pipeline(stack, documents, warmup, args.timeout, poll=2.0)
        print("timing the bare model on the same chunks, with the stack stopped…", flush=True)
        model = run_model(documents, warmup, args.model_rounds)
        check_same_chunks(documents, pipeline, model)
        report(documents, pipeline, model)
        print(
            f"\n  whole run, stack start and stop included: {time.monotonic() - run_started:.0f} s"
        )
        succeeded = True
    finally:
        if succeeded and not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not succeeded:
            print(f"service logs kept in {workdir / 'logs'}", file=sys.stderr)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Explicit, as in scripts/dev.py: a shell may start this with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        benchmark(args)
    except KeyboardInterrupt:
        print("\ninterrupted: nothing of the run is left running", file=sys.stderr)
        return 130
    except BenchmarkFailed as exc:
        print(f"\nbench-ingest failed: {exc}", file=sys.stderr)
        return 1
    except ServiceFailed as exc:
        print(f"\nbench-ingest failed: the stack did not start: {exc}", file=sys.stderr)
        return 1
    except AssertionError as exc:  # devstack.client's checks of the gateway's answers
        print(f"\nbench-ingest failed: unexpected answer from the gateway: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"\nbench-ingest failed: the gateway did not answer: {exc!r}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"\nbench-ingest failed: {exc} (is PostgreSQL up? {ADMIN_DSN})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
