# ruff: noqa: RUF001  (the text of other languages, typographic quotes and dashes are the point)
"""The words of the generated mailbox: per-locale names, domains, subjects and sentences.

Each locale lists the legacy charsets its mailers still send and how often; every string
of a locale must encode in each of them (`check_locales` says which does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone
from random import Random

Names = tuple[tuple[str, str], ...]  # (as written, as in the address)


@dataclass(frozen=True)
class Locale:
    code: str
    share: float  # of all contacts
    tz: timezone
    domains: tuple[tuple[str, str | None], ...]  # (domain, company name or None for free mail)
    legacy: tuple[tuple[str, float], ...]  # (charset, chance a message uses it)
    first_names: Names
    last_names: Names
    greetings: tuple[str, ...]
    closings: tuple[str, ...]
    subjects: tuple[str, ...]
    sentences: tuple[str, ...]
    follow_ups: tuple[str, ...]
    reply_prefixes: tuple[str, ...]
    wrote: str  # the attribution line above quoted history
    document_names: tuple[str, ...]
    sentence_join: str = " "
    family_name_first: bool = False

    def full_name(self, first: str, last: str) -> str:
        return f"{last} {first}" if self.family_name_first else f"{first} {last}"

    def pick_charset(self, rng: Random) -> str:
        roll = rng.random()
        for charset, chance in self.legacy:
            if roll < chance:
                return charset
            roll -= chance
        return "utf-8"

    def strings(self) -> list[str]:
        names = [n for pair in (*self.first_names, *self.last_names) for n in pair]
        return [
            *names,
            *self.greetings,
            *self.closings,
            *self.subjects,
            *self.sentences,
            *self.follow_ups,
            *self.reply_prefixes,
            self.wrote,
            *self.document_names,
            *(company for _, company in self.domains if company),
        ]


EN = Locale(
    code="en",
    share=0.68,
    tz=timezone(timedelta(hours=-5)),
    domains=(
        ("acme-logistics.example", "Acme Logistics Ltd."),
        ("northwind-traders.example", "Northwind Traders"),
        ("globex.example", "Globex Corporation"),
        ("initech.example", "Initech"),
        ("mailbox.example", None),
        ("fastmail.example", None),
    ),
    legacy=(("windows-1252", 0.03),),
    first_names=(
        ("James", "james"),
        ("Mary", "mary"),
        ("Robert", "robert"),
        ("Patricia", "patricia"),
        ("Michael", "michael"),
        ("Linda", "linda"),
        ("David", "david"),
        ("Susan", "susan"),
        ("Daniel", "daniel"),
        ("Karen", "karen"),
        ("Priya", "priya"),
        ("Wei", "wei"),
        ("Omar", "omar"),
        ("Chloe", "chloe"),
        ("Liam", "liam"),
        ("Aisha", "aisha"),
    ),
    last_names=(
        ("Smith", "smith"),
        ("Johnson", "johnson"),
        ("Williams", "williams"),
        ("Brown", "brown"),
        ("Jones", "jones"),
        ("Garcia", "garcia"),
        ("Miller", "miller"),
        ("Davis", "davis"),
        ("Patel", "patel"),
        ("O'Brien", "obrien"),
        ("Nguyen", "nguyen"),
        ("Clarke", "clarke"),
    ),
    greetings=("Hi,", "Hello support team,", "Dear Sir or Madam,", "Hi there,", "Good morning,"),
    closings=("Thanks,", "Best regards,", "Kind regards,", "Cheers,", "Thank you in advance,"),
    subjects=(
        "Cannot log in to my account",
        "Invoice #{invoice} shows the wrong amount",
        "Order {order} has not arrived",
        "Refund request for order {order}",
        "Export to CSV is broken",
        "Question about the annual plan",
        "Password reset email never arrives",
        "Damaged item in order {order}",
        "How do I add a second user?",
        "API returns 500 since this morning",
        "Change of billing address",
        "Can’t download my invoice",
    ),
    sentences=(
        "I placed order {order} last week and it still shows as processing.",
        "When I click the export button nothing happens, in Chrome and in Firefox.",
        "Our finance team says invoice #{invoice} was charged twice.",
        "Could you please tell me when the parcel will be shipped?",
        "I have attached a screenshot of the error message.",
        "The password reset link says it has expired even though I used it at once.",
        "We would like to upgrade to the annual plan if there is a discount.",
        "It worked fine until yesterday’s update.",
        "The box arrived with a broken corner and the lamp inside is cracked.",
        "Our warehouse needs the delivery before Friday, otherwise we miss the deadline.",
        "I tried clearing the cache and logging in again, but it made no difference.",
        "The total on the invoice should be €1,250.00, not €1,520.00.",
        "Two of my colleagues have the same problem.",
        "Is there a way to get the data out as a spreadsheet?",
        "The app says “session expired” every five minutes.",
        "We are on the business plan – account number {invoice}.",
        "Please cancel the order if it cannot be delivered this month.",
        "I would appreciate a quick answer, this is blocking our month-end closing.",
    ),
    follow_ups=(
        "Any update on this?",
        "Thanks for the quick reply, but the problem is still there.",
        "I tried what you suggested and it works now. You can close this.",
        "Sorry, I forgot to attach the file in my last email.",
        "Just following up on my message below.",
        "My colleague asked me to add that it happens on the mobile app too.",
    ),
    reply_prefixes=("Re: ", "RE: ", "Re: "),
    wrote="On {date}, {name} <{address}> wrote:",
    document_names=("invoice-{n}.pdf", "order-confirmation-{n}.pdf", "statement.pdf"),
)

DE = Locale(
    code="de",
    share=0.06,
    tz=timezone(timedelta(hours=1)),
    domains=(
        ("baeckerei-mueller.example", "Bäckerei Müller GmbH"),
        ("stahlbau-koenig.example", "Stahlbau König AG"),
    ),
    legacy=(("iso-8859-1", 0.35),),
    first_names=(
        ("Jürgen", "juergen"),
        ("Anja", "anja"),
        ("Jörg", "joerg"),
        ("Sabine", "sabine"),
        ("Björn", "bjoern"),
        ("Käthe", "kaethe"),
    ),
    last_names=(
        ("Müller", "mueller"),
        ("Schröder", "schroeder"),
        ("Weiß", "weiss"),
        ("Köhler", "koehler"),
        ("Groß", "gross"),
        ("Bauer", "bauer"),
    ),
    greetings=("Sehr geehrte Damen und Herren,", "Hallo,", "Guten Tag,"),
    closings=("Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße"),
    subjects=(
        "Rechnung {invoice} ist fehlerhaft",
        "Bestellung {order} nicht geliefert",
        "Anmeldung schlägt fehl",
        "Frage zur Kündigung",
        "Rückerstattung für Auftrag {order}",
    ),
    sentences=(
        "Unsere Bestellung {order} ist immer noch nicht angekommen.",
        "Die Rechnung {invoice} enthält einen falschen Betrag.",
        "Könnten Sie uns bitte eine korrigierte Rechnung schicken?",
        "Seit dem Update können wir uns nicht mehr anmelden.",
        "Die Ware wurde beschädigt geliefert, die Verpackung war völlig zerdrückt.",
        "Wir benötigen die Lieferung spätestens bis Freitag.",
        "Bitte prüfen Sie, ob die Zahlung eingegangen ist.",
        "Im Anhang finden Sie ein Foto der Schäden.",
        "Der Export nach Excel funktioniert leider nicht.",
        "Über eine schnelle Rückmeldung würde ich mich sehr freuen.",
    ),
    follow_ups=(
        "Gibt es hierzu schon Neuigkeiten?",
        "Vielen Dank, das Problem ist jetzt gelöst.",
        "Leider besteht das Problem weiterhin.",
        "Ich möchte noch einmal an meine Anfrage erinnern.",
    ),
    reply_prefixes=("AW: ", "Re: "),
    wrote="Am {date} schrieb {name} <{address}>:",
    document_names=("Rechnung-{n}.pdf", "Lieferschein März {n}.pdf"),
)

FR = Locale(
    code="fr",
    share=0.06,
    tz=timezone(timedelta(hours=1)),
    domains=(("boulangerie-dupont.example", "Boulangerie Dupont SARL"),),
    legacy=(("windows-1252", 0.35),),
    first_names=(
        ("François", "francois"),
        ("Hélène", "helene"),
        ("Amélie", "amelie"),
        ("Jérôme", "jerome"),
        ("Céline", "celine"),
        ("Loïc", "loic"),
    ),
    last_names=(
        ("Dupont", "dupont"),
        ("Lefèvre", "lefevre"),
        ("Moreau", "moreau"),
        ("Gérard", "gerard"),
        ("Bénard", "benard"),
        ("Leclerc", "leclerc"),
    ),
    greetings=("Bonjour,", "Madame, Monsieur,", "Bonjour l’équipe,"),
    closings=("Cordialement,", "Bien à vous,", "Merci d’avance,"),
    subjects=(
        "Problème de facturation – facture {invoice}",
        "Commande {order} non reçue",
        "Impossible de me connecter",
        "Demande de remboursement",
        "Question sur l’abonnement annuel",
    ),
    sentences=(
        "Ma commande {order} n’est toujours pas arrivée.",
        "La facture {invoice} indique 450 € au lieu de 405 €.",
        "Pourriez-vous vérifier l’état de la livraison ?",
        "Depuis la mise à jour, je ne peux plus me connecter.",
        "Le colis est arrivé abîmé et le produit est cassé.",
        "Je vous joins une capture d’écran de l’erreur.",
        "Nous avons besoin de la livraison avant vendredi.",
        "Merci de me rappeler dès que possible.",
        "L’export en CSV ne fonctionne plus depuis hier.",
        "Je souhaiterais être remboursé intégralement.",
    ),
    follow_ups=(
        "Avez-vous du nouveau concernant ma demande ?",
        "Merci, tout fonctionne à nouveau.",
        "Le problème persiste malgré vos conseils.",
        "Je me permets de vous relancer.",
    ),
    reply_prefixes=("RE : ", "Re: "),
    wrote="Le {date}, {name} <{address}> a écrit :",
    document_names=("facture-{n}.pdf", "bon de livraison {n}.pdf"),
)

ES = Locale(
    code="es",
    share=0.04,
    tz=timezone(timedelta(hours=1)),
    domains=(("ferreteria-garcia.example", "Ferretería García S.L."),),
    legacy=(("iso-8859-1", 0.2), ("windows-1252", 0.15)),
    first_names=(
        ("José", "jose"),
        ("María", "maria"),
        ("Íñigo", "inigo"),
        ("Begoña", "begona"),
        ("Andrés", "andres"),
    ),
    last_names=(
        ("García", "garcia"),
        ("Muñoz", "munoz"),
        ("Pérez", "perez"),
        ("Ibáñez", "ibanez"),
        ("Martín", "martin"),
    ),
    greetings=("Hola,", "Buenos días,", "Estimados señores:"),
    closings=("Un saludo,", "Atentamente,", "Gracias,"),
    subjects=(
        "Pedido {order} sin entregar",
        "Error en la factura {invoice}",
        "No puedo iniciar sesión",
        "Devolución del pedido {order}",
    ),
    sentences=(
        "Mi pedido {order} todavía no ha llegado.",
        "La factura {invoice} tiene un importe incorrecto.",
        "¿Podrían indicarme cuándo se enviará el paquete?",
        "Desde la actualización no puedo acceder a mi cuenta.",
        "El producto llegó dañado y quiero devolverlo.",
        "Adjunto una captura de pantalla del error.",
        "Necesitamos la entrega antes del viernes.",
        "Les agradecería una respuesta rápida.",
    ),
    follow_ups=(
        "¿Hay alguna novedad sobre mi consulta?",
        "Gracias, ya está solucionado.",
        "El problema sigue sin resolverse.",
    ),
    reply_prefixes=("RE: ", "Re: "),
    wrote="El {date}, {name} <{address}> escribió:",
    document_names=("factura-{n}.pdf", "albarán {n}.pdf"),
)

RU = Locale(
    code="ru",
    share=0.06,
    tz=timezone(timedelta(hours=3)),
    domains=(("stroygaz.example", 'ООО "СтройГаз"'),),
    legacy=(("koi8-r", 0.5),),
    first_names=(
        ("Иван", "ivan"),
        ("Ольга", "olga"),
        ("Сергей", "sergey"),
        ("Наталья", "natalya"),
        ("Дмитрий", "dmitry"),
        ("Елена", "elena"),
    ),
    last_names=(
        ("Петров", "petrov"),
        ("Смирнова", "smirnova"),
        ("Кузнецов", "kuznetsov"),
        ("Попова", "popova"),
        ("Соколов", "sokolov"),
    ),
    greetings=("Здравствуйте!", "Добрый день!", "Уважаемая служба поддержки!"),
    closings=("С уважением,", "Спасибо,", "Всего доброго,"),
    subjects=(
        "Не пришёл заказ {order}",
        "Ошибка в счёте {invoice}",
        "Не могу войти в личный кабинет",
        "Возврат денег за заказ {order}",
    ),
    sentences=(
        "Мой заказ {order} до сих пор не доставлен.",
        "В счёте {invoice} указана неверная сумма.",
        "Подскажите, пожалуйста, когда будет отправка?",
        "После обновления я не могу войти в систему.",
        "Товар пришёл повреждённым, упаковка была смята.",
        "Прикладываю снимок экрана с ошибкой.",
        "Нам нужна доставка до пятницы.",
        "Прошу ответить как можно скорее.",
        "Выгрузка в Excel перестала работать.",
    ),
    follow_ups=(
        "Есть ли новости по моему обращению?",
        "Спасибо, всё заработало.",
        "К сожалению, проблема осталась.",
    ),
    reply_prefixes=("Re: ", "RE: "),
    wrote="{date}, {name} <{address}> пишет:",
    document_names=("счёт-{n}.pdf", "акт {n}.pdf"),
)

JA = Locale(
    code="ja",
    share=0.10,
    tz=timezone(timedelta(hours=9)),
    domains=(
        ("yamada-shoji.example", "山田商事株式会社"),
        ("tanaka-denki.example", "田中電機株式会社"),
    ),
    legacy=(("iso-2022-jp", 0.35), ("shift_jis", 0.25)),
    first_names=(
        ("太郎", "taro"),
        ("花子", "hanako"),
        ("健一", "kenichi"),
        ("美咲", "misaki"),
        ("大輔", "daisuke"),
        ("由美", "yumi"),
    ),
    last_names=(
        ("田中", "tanaka"),
        ("山田", "yamada"),
        ("佐藤", "sato"),
        ("鈴木", "suzuki"),
        ("高橋", "takahashi"),
        ("伊藤", "ito"),
    ),
    greetings=("お世話になっております。", "サポートご担当者様", "いつもお世話になっております。"),
    closings=("よろしくお願いいたします。", "以上、よろしくお願いします。"),
    subjects=(
        "注文番号{order}の商品が届きません",
        "請求書{invoice}の金額について",
        "ログインできません",
        "返品のお願い（注文{order}）",
        "年間プランについての質問",
    ),
    sentences=(
        "先週注文した商品（注文番号{order}）がまだ届いていません。",
        "請求書{invoice}の金額が間違っているようです。",
        "発送予定日を教えていただけますでしょうか。",
        "昨日のアップデート以降、ログインできなくなりました。",
        "届いた商品が破損していました。",
        "エラー画面のスクリーンショットを添付します。",
        "金曜日までに納品していただく必要があります。",
        "お手数ですが、ご確認をお願いいたします。",
        "CSVの出力ができなくなりました。",
    ),
    follow_ups=(
        "その後、進捗はいかがでしょうか。",
        "ご対応ありがとうございました。解決しました。",
        "ご指示の通り試しましたが、まだ直りません。",
    ),
    reply_prefixes=("Re: ", "RE: "),
    wrote="{date} {name} <{address}> wrote:",
    document_names=("請求書{n}.pdf", "見積書-{n}.pdf"),
    sentence_join="",
    family_name_first=True,
)

LOCALES = (EN, DE, FR, ES, RU, JA)


def check_locales() -> list[str]:
    """Strings that do not encode in a legacy charset their locale uses (should be none)."""
    problems = []
    for locale in LOCALES:
        for charset, _ in locale.legacy:
            for text in locale.strings():
                try:
                    text.encode(charset)
                except UnicodeEncodeError:
                    problems.append(f"{locale.code} {charset}: {text!r}")
    return problems
