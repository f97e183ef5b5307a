"""What the demo helpdesk is made of: companies, people, staff and what customers write."""

from __future__ import annotations

DEMO_DOMAIN = "demo.relaydesk.test"
DEMO_ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
DEMO_PASSWORD = "relaydesk-demo"
DEMO_DAYS = 60

ACCOUNTS = [
    ("Northwind Traders", "enterprise"),
    ("Contoso Pharmaceuticals", "enterprise"),
    ("Globex Logistics", "enterprise"),
    ("Initech Software", "business"),
    ("Umbrella Health", "business"),
    ("Stark Fabrication", "enterprise"),
    ("Wayne Outdoor", "business"),
    ("Hooli Cloud", "enterprise"),
    ("Pied Piper Media", "starter"),
    ("Vandelay Imports", "starter"),
    ("Acme Garden Supply", "business"),
    ("Soylent Foods", "business"),
    ("Tyrell Robotics", "enterprise"),
    ("Cyberdyne Analytics", "business"),
    ("Oceanic Travel", "starter"),
    ("Blue Sun Beverages", "starter"),
    ("Gringotts Finance", "enterprise"),
    ("Monarch Studios", "business"),
    ("Dunder Paper", "starter"),
    ("Bluth Homes", "starter"),
]
REGIONS = ("EMEA", "NA", "APAC", "LATAM")
FIRST_NAMES = (  # noqa: SIM905 - a list literal would take 40 lines
    "Ada Alan Grace Linus Margaret Ken Barbara Dennis Frances Edsger Radia Guido Katherine "
    "Tim Hedy Donald Sophie Bjarne Anita John Yukihiro Shafi Leslie Mary Niklaus Joan Rasmus "
    "Fatima Mateo Ingrid Kwame Priya Lars Chen Amara Diego Noor Olga Tomas Aiko"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Lovelace Turing Hopper Torvalds Hamilton Thompson Liskov Ritchie Allen Dijkstra Perlman "
    "Rossum Johnson Berners-Lee Lamarr Knuth Wilson Stroustrup Borg McCarthy Matsumoto Goldwasser "
    "Lamport Shaw Wirth Clarke Lerdorf Haddad Silva Berg Mensah Natarajan Nilsson Wei Okafor "
    "Alvarez Rahman Petrova Novak Tanaka"
).split()
LOCALES = (("en-US", "America/New_York"), ("en-GB", "Europe/London"), ("de-DE", "Europe/Berlin"),
           ("fr-FR", "Europe/Paris"), ("es-ES", "Europe/Madrid"), ("ja-JP", "Asia/Tokyo"),
           ("pt-BR", "America/Sao_Paulo"), ("en-AU", "Australia/Sydney"))  # fmt: skip

TEAMS = {
    "Billing": "Invoices, refunds, plan changes and payment failures",
    "Technical": "Bugs, integrations, the API and outages",
    "Onboarding": "New customers in their first 30 days",
    "Customer Success": "Renewals, escalations and key accounts",
}
SKILLS = ("billing", "technical", "api", "onboarding", "german", "french", "spanish", "vip")
AGENTS = [  # (name, role, teams, {skill: level})
    ("Dana Admin", "admin", ["Customer Success"], {"vip": 5, "billing": 3}),
    ("Sam Supervisor", "supervisor", ["Billing", "Customer Success"], {"billing": 5, "vip": 4}),
    ("Riley Supervisor", "supervisor", ["Technical", "Onboarding"], {"technical": 5, "api": 4}),
    ("Alex Moreau", "agent", ["Billing"], {"billing": 4, "french": 5}),
    ("Jordan Becker", "agent", ["Billing"], {"billing": 3, "german": 5}),
    ("Casey Lopez", "agent", ["Billing", "Onboarding"], {"billing": 2, "spanish": 5}),
    ("Morgan Reed", "agent", ["Technical"], {"technical": 5, "api": 5}),
    ("Taylor Kim", "agent", ["Technical"], {"technical": 4, "api": 3}),
    ("Jamie Okoro", "agent", ["Technical"], {"technical": 3}),
    ("Avery Schulz", "agent", ["Technical", "Customer Success"], {"technical": 2, "german": 4}),
    ("Quinn Dubois", "agent", ["Onboarding"], {"onboarding": 5, "french": 4}),
    ("Harper Silva", "agent", ["Onboarding"], {"onboarding": 4, "spanish": 3}),
    ("Rowan Patel", "agent", ["Customer Success"], {"vip": 3, "billing": 2}),
]
INBOXES = [  # (name, channel, team, settings)
    ("Support email", "email", "Technical", {"address": f"support@{DEMO_DOMAIN}"}),
    ("Website chat", "chat", "Onboarding", {"greeting": "Hi! How can we help?"}),
    ("Partner API", "api", "Billing", {}),
]
# Per team: (subject, first message, skill); placeholders {n} (a number) and {product}.
TOPICS: dict[str, list[tuple[str, str, str]]] = {
    "Billing": [
        (
            "Invoice #{n} shows the wrong VAT rate",
            "Our invoice applies 19% VAT but we are "
            "VAT-registered in another country. Can you reissue it with reverse charge?",
            "billing",
        ),
        (
            "Charged twice this month",
            "Our card was charged twice for the {product} plan. "
            "Please refund the duplicate payment.",
            "billing",
        ),
        (
            "Switch to annual billing",
            "We would like to move to yearly billing. Is there a "
            "discount, and what happens to the remaining days of this month?",
            "billing",
        ),
        (
            "Payment failed: card declined",
            "We got an email that the renewal failed. The card is valid; can you retry the charge?",
            "billing",
        ),
        (
            "Need a copy of invoice #{n}",
            "Our accounting team lost the PDF. Could you send it again?",
            "billing",
        ),
    ],
    "Technical": [
        (
            "CSV export times out",
            "Exporting more than 10k rows from {product} ends with a 504 after about a minute.",
            "technical",
        ),
        (
            "Webhook deliveries failing with 401",
            "Since yesterday every webhook to our endpoint "
            "fails with 401. We rotated the secret on {n}.",
            "api",
        ),
        (
            "SSO login loops back to the sign-in page",
            "After the IdP redirect users land on the "
            "login page again. Happens in Chrome and Firefox.",
            "technical",
        ),
        (
            "API rate limit lower than documented",
            "We hit 429s at about {n} requests per minute, but the docs promise more.",
            "api",
        ),
        (
            "Mobile app crashes on start",
            "The iOS app closes right after the splash screen since the last update.",
            "technical",
        ),
    ],
    "Onboarding": [
        (
            "How do I invite my team?",
            "We just signed up for {product}. Where do I add colleagues and set their roles?",
            "onboarding",
        ),
        (
            "Importing our old tickets",
            "We have about {n} tickets in our previous tool. Can they be imported?",
            "onboarding",
        ),
        (
            "Setting up the email forwarding",
            "Which address should we forward our support mailbox to, and do we need SPF changes?",
            "onboarding",
        ),
        (
            "Training session for new agents",
            "Could we book a 30-minute walkthrough for our {n} new agents?",
            "onboarding",
        ),
    ],
    "Customer Success": [
        (
            "Renewal quote for next year",
            "Our contract ends next month. Please send a renewal quote for {n} seats of {product}.",
            "vip",
        ),
        (
            "Escalation: outage impact on our customers",
            "The incident last week affected our own customers. We need a written incident report.",
            "vip",
        ),
        (
            "Adding a second workspace",
            "Our subsidiary wants its own workspace under our contract. How do we set that up?",
            "billing",
        ),
    ],
}
PRODUCTS = ("Starter", "Team", "Business", "Enterprise")
TAGS = ("refund", "invoice", "bug", "login", "vip", "feature-request", "how-to", "api",
        "mobile", "churn-risk", "outage", "import")  # fmt: skip
CONTACT_REPLIES = (
    "Thanks, that helps. One more question though: does this also apply to our other users?",
    "I tried that and it still does not work. Screenshot attached in the next email.",
    "Any update on this? It is blocking our team.",
    "Perfect, that solved it. Thank you!",
    "We can do a call tomorrow morning if that is easier.",
)
AGENT_REPLIES = (
    "Thanks for reaching out! I have looked into this and will get back to you shortly.",
    "Could you send us the exact time this happened and the account email, please?",
    "I have applied the change on our side. Could you check whether it works now?",
    "This is a known issue and our engineers are on it. I will update you as soon as it is fixed.",
    "Done! You should see the corrected version in your dashboard within a few minutes.",
)
INTERNAL_NOTES = (
    "Customer is on the enterprise plan, handle with priority.",
    "Reproduced on staging, filed with engineering.",
    "Checked the payment provider: the second charge is a pending authorisation.",
    "Second report this week from this account; flagging as churn risk.",
)
# Weights of a realistic queue: most work is open or done, little waits on hold.
STATUS_WEIGHTS = {"new": 10, "open": 25, "pending": 15, "on_hold": 5, "solved": 25, "closed": 20}
PRIORITY_WEIGHTS = {"low": 20, "normal": 50, "high": 22, "urgent": 8}
