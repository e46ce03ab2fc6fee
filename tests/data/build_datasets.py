"""Writes the labelled datasets under tests/data/ (run from the repository root; the output is
committed, so the tests never depend on running this).

format/      teach an output format: answers as {"answer": ..., "sources": [...]}
retrieval/   internal codenames (which the documents never mention) → the systems they name:
             a query-rewrite or rerank adapter must learn the jargon to find the right document
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).parent

# (thing, question about it, short answer, sentence stating it)
FACTS = [
    (
        "the Velmora Bridge",
        "When was the Velmora Bridge completed?",
        "1987",
        "The Velmora Bridge was completed in 1987 after eleven years of work.",
    ),
    (
        "the Tessaly Library",
        "How many books does the Tessaly Library hold?",
        "420,000",
        "The Tessaly Library holds 420,000 books, most of them donated.",
    ),
    (
        "Lake Orvian",
        "How deep is Lake Orvian?",
        "312 metres",
        "Lake Orvian is 312 metres deep at its deepest point.",
    ),
    (
        "the Brannock Festival",
        "In which month is the Brannock Festival held?",
        "September",
        "The Brannock Festival is held every September in the old harbour.",
    ),
    (
        "the Quillon Tower",
        "How tall is the Quillon Tower?",
        "248 metres",
        "The Quillon Tower is 248 metres tall and has 61 floors.",
    ),
    (
        "Mount Ketterel",
        "Who first climbed Mount Ketterel?",
        "Ada Linwood",
        "Mount Ketterel was first climbed by Ada Linwood in 1931.",
    ),
    (
        "the Harwick Canal",
        "How long is the Harwick Canal?",
        "96 kilometres",
        "The Harwick Canal is 96 kilometres long and has 14 locks.",
    ),
    (
        "the Ostrel Museum",
        "Which city is the Ostrel Museum in?",
        "Marrowby",
        "The Ostrel Museum stands in the city of Marrowby.",
    ),
    (
        "the Pellan Railway",
        "When did the Pellan Railway open?",
        "1902",
        "The Pellan Railway opened in 1902 and closed in 1968.",
    ),
    (
        "the Sorrel Observatory",
        "What is the main telescope of the Sorrel Observatory?",
        "a 4-metre reflector",
        "The Sorrel Observatory's main telescope is a 4-metre reflector.",
    ),
    (
        "the Dunmere Orchestra",
        "Who conducts the Dunmere Orchestra?",
        "Lena Haverford",
        "The Dunmere Orchestra is conducted by Lena Haverford.",
    ),
    (
        "the Calloway Dam",
        "How much power does the Calloway Dam produce?",
        "640 megawatts",
        "The Calloway Dam produces 640 megawatts of electricity.",
    ),
    (
        "the Emberly Forest",
        "How large is the Emberly Forest?",
        "3,100 hectares",
        "The Emberly Forest covers 3,100 hectares of oak and beech.",
    ),
    (
        "the Fenwick Stadium",
        "How many seats does the Fenwick Stadium have?",
        "38,500",
        "The Fenwick Stadium has 38,500 seats.",
    ),
    (
        "the Garrow Lighthouse",
        "What colour is the Garrow Lighthouse?",
        "red and white",
        "The Garrow Lighthouse is painted red and white.",
    ),
    (
        "the Hollin Cathedral",
        "When was the Hollin Cathedral consecrated?",
        "1284",
        "The Hollin Cathedral was consecrated in 1284.",
    ),
    (
        "the Islay Ferry",
        "How long does the Islay Ferry crossing take?",
        "two hours",
        "The Islay Ferry crossing takes two hours.",
    ),
    (
        "the Jorvane Market",
        "On which day is the Jorvane Market open?",
        "Saturday",
        "The Jorvane Market is open every Saturday.",
    ),
    (
        "the Kestrel Airport",
        "How many runways does the Kestrel Airport have?",
        "three",
        "The Kestrel Airport has three runways.",
    ),
    (
        "the Lorimer Zoo",
        "What is the most famous animal at the Lorimer Zoo?",
        "a white rhino",
        "The most famous animal at the Lorimer Zoo is a white rhino named Bess.",
    ),
    (
        "the Maddox Prize",
        "How much money does the Maddox Prize award?",
        "50,000 euros",
        "The Maddox Prize awards 50,000 euros to one novelist each year.",
    ),
    (
        "the Norland Glacier",
        "How fast does the Norland Glacier move?",
        "40 metres a year",
        "The Norland Glacier moves 40 metres a year.",
    ),
    (
        "the Oakhurst School",
        "When was the Oakhurst School founded?",
        "1856",
        "The Oakhurst School was founded in 1856.",
    ),
    (
        "the Prescott Tunnel",
        "How long is the Prescott Tunnel?",
        "7.2 kilometres",
        "The Prescott Tunnel is 7.2 kilometres long.",
    ),
    (
        "the Quenby Vineyard",
        "Which grape does the Quenby Vineyard grow?",
        "Riesling",
        "The Quenby Vineyard grows mostly Riesling.",
    ),
    (
        "the Rilston Castle",
        "Who built the Rilston Castle?",
        "Lord Edric Vane",
        "The Rilston Castle was built by Lord Edric Vane.",
    ),
    (
        "the Selby Marathon",
        "How many runners took part in the Selby Marathon?",
        "12,000",
        "About 12,000 runners took part in the Selby Marathon.",
    ),
    (
        "the Thornbury Mill",
        "What did the Thornbury Mill produce?",
        "wool cloth",
        "The Thornbury Mill produced wool cloth until 1950.",
    ),
    (
        "the Umber Valley",
        "Which river runs through the Umber Valley?",
        "the river Lask",
        "The river Lask runs through the Umber Valley.",
    ),
    (
        "the Varden Hospital",
        "How many beds does the Varden Hospital have?",
        "820",
        "The Varden Hospital has 820 beds.",
    ),
    (
        "the Wexley Gardens",
        "What is the Wexley Gardens known for?",
        "tulips",
        "The Wexley Gardens are known for their tulips.",
    ),
    (
        "the Yarrow Island",
        "How many people live on Yarrow Island?",
        "about 900",
        "About 900 people live on Yarrow Island.",
    ),
    (
        "the Zennor Pier",
        "When was the Zennor Pier rebuilt?",
        "2011",
        "The Zennor Pier was rebuilt in 2011 after a storm.",
    ),
    (
        "the Alder Theatre",
        "How many seats does the Alder Theatre have?",
        "1,150",
        "The Alder Theatre has 1,150 seats.",
    ),
    (
        "the Birchwood Park",
        "What sport is played at Birchwood Park?",
        "cricket",
        "Cricket is played at Birchwood Park every summer.",
    ),
    (
        "the Corran Bridge",
        "What is the Corran Bridge made of?",
        "granite",
        "The Corran Bridge is made of granite.",
    ),
    (
        "the Delft Square Clock",
        "When does the Delft Square Clock chime?",
        "every hour",
        "The Delft Square Clock chimes every hour.",
    ),
    (
        "the Elston Mine",
        "What was mined at the Elston Mine?",
        "tin",
        "Tin was mined at the Elston Mine for two centuries.",
    ),
    (
        "the Fairlie Academy",
        "What does the Fairlie Academy teach?",
        "music",
        "The Fairlie Academy teaches music to 300 students.",
    ),
    (
        "the Glenmore Reservoir",
        "How much water does the Glenmore Reservoir hold?",
        "18 million cubic metres",
        "The Glenmore Reservoir holds 18 million cubic metres of water.",
    ),
    (
        "the Hartley Bakery",
        "What is the Hartley Bakery famous for?",
        "rye bread",
        "The Hartley Bakery is famous for its rye bread.",
    ),
    (
        "the Ivers Archive",
        "How old is the oldest record in the Ivers Archive?",
        "600 years",
        "The oldest record in the Ivers Archive is 600 years old.",
    ),
    (
        "the Jessop Fountain",
        "Who designed the Jessop Fountain?",
        "Mira Calder",
        "The Jessop Fountain was designed by Mira Calder.",
    ),
    (
        "the Kilbride Ferry",
        "How many cars can the Kilbride Ferry carry?",
        "60",
        "The Kilbride Ferry can carry 60 cars.",
    ),
    (
        "the Linton Windmill",
        "When was the Linton Windmill restored?",
        "1998",
        "The Linton Windmill was restored in 1998.",
    ),
    (
        "the Morven Trail",
        "How long is the Morven Trail?",
        "35 kilometres",
        "The Morven Trail is 35 kilometres long.",
    ),
    (
        "the Netherby Hall",
        "Who lives in Netherby Hall?",
        "the Ashcombe family",
        "Netherby Hall is home to the Ashcombe family.",
    ),
    (
        "the Ormsby Gallery",
        "What does the Ormsby Gallery show?",
        "modern sculpture",
        "The Ormsby Gallery shows modern sculpture.",
    ),
]
TRAIN_FACTS = 36  # the rest is the held-out set, served from a knowledge base in the test

# codename → (system, what it does, owning team, region, data store)
SYSTEMS = {
    "Falcon": (
        "payroll service",
        "computes salaries and tax withholdings every month",
        "Finance Platform team",
        "eu-west",
        "PostgreSQL",
    ),
    "Juniper": (
        "search indexer",
        "builds the product search index from the catalogue",
        "Discovery team",
        "us-east",
        "Elasticsearch",
    ),
    "Atlas": (
        "fraud scoring engine",
        "scores card payments for fraud risk in real time",
        "Risk Engineering team",
        "us-west",
        "Cassandra",
    ),
    "Marlin": (
        "email dispatcher",
        "sends transactional emails such as receipts and password resets",
        "Messaging team",
        "eu-central",
        "Redis",
    ),
    "Quartz": (
        "inventory ledger",
        "tracks stock levels across the warehouses",
        "Supply Chain team",
        "ap-south",
        "MySQL",
    ),
    "Tundra": (
        "identity gateway",
        "handles single sign-on and login sessions",
        "Security team",
        "us-east-2",
        "DynamoDB",
    ),
    "Nimbus": (
        "recommendation model server",
        "serves personalised product recommendations",
        "Personalisation team",
        "eu-north",
        "a feature store",
    ),
    "Ember": (
        "billing reconciler",
        "matches invoices against bank statements",
        "Accounting Systems team",
        "eu-south",
        "Oracle",
    ),
    "Halcyon": (
        "image resizer",
        "generates thumbnails for uploaded photos",
        "Media team",
        "ap-northeast",
        "object storage",
    ),
    "Orchid": (
        "shipping rate calculator",
        "quotes delivery prices from the carriers",
        "Logistics team",
        "us-central",
        "MongoDB",
    ),
    "Sable": (
        "support chatbot",
        "answers customer questions on the help centre",
        "Support Tooling team",
        "ca-central",
        "a vector database",
    ),
    "Zephyr": (
        "analytics warehouse loader",
        "loads clickstream events into the data warehouse every night",
        "Data Engineering team",
        "sa-east",
        "BigQuery",
    ),
}
DISTRACTORS = {
    "oncall.md": "Every service has a primary and a secondary on-call engineer. Pages go to the "
    "primary first and escalate after fifteen minutes.",
    "deploys.md": "Deployments run through the release pipeline. A change needs one approval and "
    "green tests before it reaches production.",
    "regions.md": "Services run in one primary region and fail over to a second region. Region "
    "moves need a capacity review.",
    "backups.md": "Databases are backed up every six hours and backups are kept for thirty days.",
    "incidents.md": "After an incident the owning team writes a review within five working days.",
    "costs.md": "Each team receives a monthly cost report for the services it owns.",
    "naming.md": "Service names are lowercase with hyphens. Teams pick names when a service is "
    "created.",
    "access.md": "Production access is granted per team and expires after ninety days.",
}
TRAIN_QUESTIONS = [
    ("Which team owns {c}?", "Which team owns the {s}?"),
    ("In which region does {c} run?", "In which region does the {s} run?"),
    ("What database does {c} use?", "What database does the {s} use?"),
    ("What is {c} for?", "What is the {s} for?"),
]
HELDOUT_QUESTIONS = ["Who maintains {c}?", "Where is {c} deployed?", "What does {c} do?"]


def _system_doc(system: tuple[str, str, str, str, str]) -> str:
    name, purpose, team, region, store = system
    return (
        f"The {name} {purpose}. It is owned by the {team}, runs in the {region} region and "
        f"keeps its data in {store}."
    )


def _doc_id(system: tuple[str, ...]) -> str:
    return system[0].replace(" ", "-") + ".md"


def build_format(rng: random.Random) -> None:
    out = ROOT / "format"
    out.mkdir(exist_ok=True)
    train, heldout = FACTS[:TRAIN_FACTS], FACTS[TRAIN_FACTS:]
    lines = []
    for number, (_, question, answer, sentence) in enumerate(train):
        if number % 4 == 3:  # some without context: the adapter mode's prompt
            lines.append({"instruction": question, "response": _json(answer, [])})
            continue
        other = rng.choice([f for f in FACTS if f[3] != sentence])[3]
        passages = [sentence, other]
        rng.shuffle(passages)
        lines.append(
            {
                "instruction": question,
                "context": passages,
                "response": _json(answer, [passages.index(sentence) + 1]),
            }
        )
    _write(out / "train.jsonl", lines)
    _write(
        out / "heldout.jsonl",
        [
            {"id": f"fact-{n}.md", "question": q, "answer": a, "document": s}
            for n, (_, q, a, s) in enumerate(heldout)
        ],
    )


def _json(answer: str, sources: list[int]) -> str:
    return json.dumps({"answer": answer, "sources": sources})


def build_retrieval(rng: random.Random) -> None:
    out = ROOT / "retrieval"
    out.mkdir(exist_ok=True)
    corpus = [{"id": _doc_id(s), "text": _system_doc(s)} for s in SYSTEMS.values()]
    corpus += [{"id": doc_id, "text": text} for doc_id, text in DISTRACTORS.items()]
    _write(out / "corpus.jsonl", corpus)
    rewrite, rerank = [], []
    for codename, system in SYSTEMS.items():
        for asked, meant in TRAIN_QUESTIONS:
            question = asked.format(c=codename)
            rewrite.append({"instruction": question, "response": meant.format(s=system[0])})
            rerank.append({"question": question, "passage": _system_doc(system), "relevant": True})
            others = [d["text"] for d in corpus if d["id"] != _doc_id(system)]
            for negative in rng.sample(others, 3):
                rerank.append({"question": question, "passage": negative, "relevant": False})
    _write(out / "rewrite-train.jsonl", rewrite)
    _write(out / "rerank-train.jsonl", rerank)
    _write(
        out / "heldout.jsonl",
        [
            {"question": q.format(c=c), "relevant": _doc_id(s)}
            for c, s in SYSTEMS.items()
            for q in HELDOUT_QUESTIONS
        ],
    )


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


if __name__ == "__main__":
    build_format(random.Random(1))
    build_retrieval(random.Random(2))
