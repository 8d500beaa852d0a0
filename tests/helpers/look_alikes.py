"""Look-alike incidents from the same and other wars, and ways people phrase the reference
claim: what matching tests put the reference case among."""

from __future__ import annotations

import random

from domain.model import IncidentDocument, MatchText, NameGroup, TextKind

PLACES = [
    ("Aleppo", "Алеппо"), ("Homs", "Хомс"), ("Hama", "Хама"), ("Deir ez-Zor", "Дейр-эз-Зор"),
    ("Raqqa", "Ракка"), ("Latakia", "Латакия"), ("Daraa", "Дараа"), ("Palmyra", "Пальмира"),
    ("Mosul", "Мосул"), ("Donetsk", "Донецк"), ("Kherson", "Херсон"), ("Bakhmut", "Бахмут"),
    ("Gaza", "Газа"), ("Khartoum", "Хартум"), ("Tripoli", "Триполи"), ("Sanaa", "Сана"),
    ("Kabul", "Кабул"), ("Mariupol", "Мариуполь"), ("Afrin", "Африн"), ("Kobani", "Кобани"),
]  # fmt: skip


# (English title, English point, Russian title, Russian point); {p} place, {n} a number.
EVENTS = [
    ("Shelling of a market in {p} kills {n} civilians", "{n} civilians were killed",
     "Обстрел рынка в городе {r}: погибли {n} мирных жителей", "Погибли {n} мирных жителей"),
    ("Militants ambush an army patrol near {p}", "{n} soldiers died in the ambush",
     "Боевики напали на армейский патруль у города {r}", "В засаде погибли {n} военных"),
    ("Drone strike hits a fuel convoy outside {p}", "{n} trucks were destroyed",
     "Удар дрона по колонне бензовозов под городом {r}", "Уничтожено {n} грузовиков"),
    ("Government forces recapture villages near {p}", "The army retook {n} villages",
     "Правительственные войска отбили сёла у города {r}", "Армия вернула {n} сёл"),
    ("Air strikes hit hospitals in {p} province", "{n} hospitals were damaged",
     "Авиаудары по больницам в провинции {r}", "Повреждены {n} больниц"),
    ("Ceasefire violations reported around {p}", "{n} violations were recorded in a day",
     "Нарушения перемирия вокруг города {r}", "За сутки зафиксировано {n} нарушений"),
    ("Prisoner exchange agreed near {p}", "{n} prisoners were exchanged",
     "Обмен пленными у города {r}", "Обменяли {n} пленных"),
    ("Protest in {p} against rising bread prices", "About {n} people joined the protest",
     "Протест в городе {r} против роста цен на хлеб", "В протесте участвовали около {n} человек"),
    ("Car bomb explodes at a checkpoint in {p}", "{n} people were wounded",
     "Взрыв заминированного автомобиля на блокпосту в городе {r}", "Ранены {n} человек"),
    ("Rocket fire on a school in {p} denied by both sides", "{n} pupils were hurt",
     "Обе стороны отрицают ракетный обстрел школы в городе {r}", "Пострадали {n} школьников"),
]  # fmt: skip


SOURCES = [
    "UN OCHA", "White Helmets", "Ukrainian General Staff", "local health ministry",
    "Reuters", "Kurdish-led SDF", "Turkish defence ministry", "Amnesty International",
]  # fmt: skip


def distractors(count: int, seed: int = 3) -> list[IncidentDocument]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        place, place_ru = rng.choice(PLACES)
        title, point, title_ru, point_ru = rng.choice(EVENTS)
        n = str(rng.choice([3, 7, 12, 15, 20, 25, 30, 40, 50, 60, 90, 100, 400]))
        fill = {"p": place, "r": place_ru, "n": n}
        key = f"distractor-{i}"
        source = rng.choice(SOURCES)
        texts = [
            MatchText(TextKind.TITLE, title.format(**fill)),
            MatchText(TextKind.SUMMARY, f"{source} reported: {point.format(**fill).lower()}."),
            MatchText(TextKind.PLACE, place),
            MatchText(TextKind.PLACE, place_ru),
            MatchText(TextKind.POINT, point.format(**fill), f"{key}-main"),
            MatchText(TextKind.SOURCE, source),
        ]
        if i % 2:
            texts += [
                MatchText(TextKind.TITLE, title_ru.format(**fill)),
                MatchText(TextKind.POINT, point_ru.format(**fill), f"{key}-main"),
            ]
        docs.append(IncidentDocument(key, tuple(texts), (NameGroup(place, (place_ru,)),)))
    return docs


# (message, the point it names or None where it names none in words the data uses)
ENGLISH = [
    ("Did rebels kill 40 Syrian soldiers in Idlib?", "soldiers-killed"),
    ("Syrian army retreats after Idlib attack", None),
    (
        "Is it true that militants launched a big offensive on government troops in Idleb "
        "on Thursday?",
        "attack-launched",
    ),
    ("Up to 40 Syrian soldiers were killed by HTS fighters in Idlib", "soldiers-killed"),
    (
        "Russian MoD: militants seized two settlements in Idlib, Syrian troops pulled out of "
        "their positions",
        "settlements-seized",
    ),
    ("Syrian army says it killed 50 militants and wounded 90 in Idlib", "militant-casualties"),
    ("SOHR counted 400 Russian and Syrian air strikes on Idlib since Wednesday", "air-strikes"),
    (
        "Forwarded from War News\nBREAKING: jihadists seize two settlements in Idlib province, "
        "the army pulls out 👉 Subscribe",
        "settlements-seized",
    ),
    ("Hayat Tahrir al-Sham attack on Syrian government forces in Idleb — fake?", None),
    (
        "Was there really a militant offensive in the Idlib de-escalation zone? The "
        "Observatory says there was no attack on Thursday",
        None,
    ),
]


RUSSIAN = [
    ("Правда ли, что боевики убили 40 сирийских военных в Идлибе?", "soldiers-killed"),
    ("Минобороны: в Идлибе погибли до 40 сирийских солдат", "soldiers-killed"),
    (
        "Боевики начали крупное наступление на правительственные войска в Идлибе",
        "attack-launched",
    ),
    (
        "Боевики захватили два населённых пункта в Идлибе, армия оставила позиции",
        "settlements-seized",
    ),
    ("В Идлибе уничтожено до 50 боевиков и ранено 90 — это правда?", "militant-casualties"),
    (
        "Сирийская обсерватория насчитала около 400 авиаударов по Идлибу со среды",
        "air-strikes",
    ),
    (
        "Переслано от Военная хроника\nНаступление Хайят Тахрир аш-Шам в Идлибе: сирийская "
        "армия отступает\nПодписаться на канал",
        None,
    ),
    ("Повстанцы атаковали сирийскую армию в Идлибе в четверг?", None),
    (
        "Проверьте: Минобороны России сообщило о наступлении боевиков в идлибской зоне деэскалации",
        None,
    ),
    (
        "Национальный фронт освобождения отрицает атаку на сирийские войска в Идлибе",
        None,
    ),
]
