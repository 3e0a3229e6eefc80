"""Vocabulary of the synthetic complaint generator (all companies and texts are invented).

A family is a product area. Its classes are (object, problem) pairs, so two classes of one
family share either the object's words or the problem's words: errors land on neighbours.
Objects are noun phrases and problems are predicates; a core sentence is "<object> <problem>".
"""

from __future__ import annotations

# name, companies, context sentences, objects (label, phrases), problems (label, phrases)
# fmt: off
FAMILIES: list[dict] = [
    {
        "name": "Credit reporting",
        "companies": ["Northwind Credit Bureau", "Apex Data Reporting", "Union Score Services"],
        "context": ["I pulled my credit reports from all three bureaus.", "This is dragging my credit score down.", "I was denied an apartment because of my credit.", "I sent a dispute letter to the bureau."],
        "objects": [
            ("credit report", ["my credit report", "my credit file", "the report the bureau keeps"]),
            ("collection account", ["a collection account on my report", "a collections tradeline", "the collection entry"]),
            ("hard inquiry", ["a hard inquiry", "an inquiry on my file", "a credit check I never applied for"]),
            ("personal information", ["my address history", "the personal information on file", "my name and employer listing"]),
        ],
        "problems": [
            ("incorrect information", ["shows the wrong balance", "is reported inaccurately", "lists a late payment I never made"]),
            ("not mine", ["does not belong to me", "belongs to someone else", "is not my account at all"]),
            ("dispute not investigated", ["is still there after my dispute", "was verified without any investigation", "was not corrected after I disputed it"]),
        ],
    },
    {
        "name": "Debt collection",
        "companies": ["Granite Recovery Group", "Summit Collections LLC", "Harbor Receivables"],
        "context": ["A debt collector keeps contacting me.", "They say I owe money on an old account.", "The collector will not give me a straight answer.", "I asked them to communicate only in writing."],
        "objects": [
            ("the debt", ["this debt", "the alleged debt", "the balance they claim I owe"]),
            ("collection calls", ["the phone calls", "their calls to my work", "the calls from the collector"]),
            ("collection letter", ["the collection letter", "a notice they mailed me", "the letter from the agency"]),
            ("lawsuit threat", ["the lawsuit threat", "a court summons", "their threat to sue"]),
        ],
        "problems": [
            ("not owed", ["is not owed", "was already paid in full", "was discharged in bankruptcy"]),
            ("harassment", ["continue every single day", "keep coming after I asked them to stop", "are abusive and threatening"]),
            ("no validation", ["never included any validation", "did not explain the amount", "came without proof of the debt"]),
        ],
    },
    {
        "name": "Mortgage",
        "companies": ["Lakeshore Home Loans", "Keystone Mortgage Servicing", "Evergreen Mortgage Co"],
        "context": ["We have had this mortgage for eight years.", "My home is at risk.", "The servicer keeps transferring me between departments.", "I have documentation of every payment."],
        "objects": [
            ("escrow", ["my escrow account", "the escrow analysis", "the escrow shortage"]),
            ("loan modification", ["my loan modification", "the modification application", "the hardship review"]),
            ("mortgage payment", ["my monthly mortgage payment", "the payment I sent", "my principal payment"]),
            ("foreclosure", ["the foreclosure notice", "the foreclosure sale date", "the foreclosure process"]),
        ],
        "problems": [
            ("payment misapplied", ["was applied incorrectly", "was posted to the wrong month", "was never credited"]),
            ("delays", ["has been delayed for months", "is stuck in review", "keeps getting lost in their system"]),
            ("unexpected fees", ["came with fees I did not expect", "had late fees added", "included an unexplained charge"]),
        ],
    },
    {
        "name": "Checking or savings",
        "companies": ["First Meridian Bank", "Riverbend Savings", "Crescent National Bank"],
        "context": ["I have banked with them for years.", "I visited the branch twice.", "I need access to my money to pay rent.", "The bank manager could not help."],
        "objects": [
            ("checking account", ["my checking account", "the joint checking account", "my savings account"]),
            ("debit card", ["my debit card", "the card they issued", "my ATM card"]),
            ("deposit", ["a mobile deposit", "my direct deposit", "the check I deposited"]),
            ("overdraft", ["the overdraft", "the overdraft protection", "the negative balance"]),
        ],
        "problems": [
            ("closed or frozen", ["was closed without notice", "was frozen with no explanation", "was restricted for weeks"]),
            ("bank fees", ["had a monthly fee added", "was charged a fee twice", "triggered fees on every transaction"]),
            ("unauthorized transactions", ["was used for transactions I did not make", "showed a withdrawal I did not authorize", "was hit by fraud"]),
        ],
    },
    {
        "name": "Credit card",
        "companies": ["Bluestone Card Services", "Orion Card Bank", "Pinnacle Credit Card Co"],
        "context": ["I always pay my card on time.", "I called the number on the back of the card.", "I have had this card since college.", "Customer service put me on hold for an hour."],
        "objects": [
            ("credit card", ["my credit card", "the card account", "my store credit card"]),
            ("statement", ["my statement", "the billing statement", "the monthly statement"]),
            ("rewards", ["the rewards points", "my cash back bonus", "the sign up bonus"]),
            ("interest rate", ["the APR", "my interest rate", "the promotional rate"]),
        ],
        "problems": [
            ("billing dispute", ["has a charge I disputed", "shows a purchase I returned", "was billed twice for one purchase"]),
            ("changed terms", ["was changed without warning", "was raised suddenly", "was cut without notice"]),
            ("not honored", ["was not honored", "was never applied", "was denied even though I qualified"]),
        ],
    },
    {
        "name": "Student loan",
        "companies": ["Cardinal Education Servicing", "Beacon Student Finance", "Scholar Loan Partners"],
        "context": ["I graduated with a lot of student debt.", "I work full time as a teacher.", "I have been in repayment for years.", "The servicer's website is always down."],
        "objects": [
            ("student loan", ["my student loan", "the federal loan", "my private student loan"]),
            ("repayment plan", ["my income driven repayment plan", "the repayment plan", "my monthly payment plan"]),
            ("forgiveness", ["public service loan forgiveness", "the forgiveness application", "my discharge request"]),
            ("servicer transfer", ["the transfer to a new servicer", "the servicer change", "the account transfer"]),
        ],
        "problems": [
            ("lost paperwork", ["paperwork was lost", "records were lost", "forms were never processed"]),
            ("wrong payment count", ["payment count is wrong", "qualifying payments were not counted", "progress was reset to zero"]),
            ("misled", ["was steered into forbearance", "was explained to me wrongly", "was misrepresented by the agent"]),
        ],
    },
    {
        "name": "Vehicle loan",
        "companies": ["Roadway Auto Finance", "Piston Credit Corp", "Mile Marker Lending"],
        "context": ["I need my car to get to work.", "I bought the car from a dealer last year.", "The dealer arranged the financing.", "I have made every car payment."],
        "objects": [
            ("auto loan", ["my auto loan", "the car loan", "the vehicle financing"]),
            ("repossession", ["the repossession of my car", "the tow of my vehicle", "the repo"]),
            ("payoff", ["the payoff amount", "the payoff quote", "the final payoff"]),
            ("title", ["the car title", "my vehicle title", "the lien release"]),
        ],
        "problems": [
            ("wrong amount", ["was higher than agreed", "was calculated wrong", "did not match the contract"]),
            ("without notice", ["happened without any notice", "was done without warning", "was handled without telling me"]),
            ("not released", ["was never released", "was held after payoff", "is still being held"]),
        ],
    },
    {
        "name": "Payday or personal loan",
        "companies": ["QuickCash Now", "Bridgewell Lending", "Easy Street Loans"],
        "context": ["I took out the loan to cover an emergency.", "The lender is online only.", "I am on a fixed income.", "I signed the agreement on my phone."],
        "objects": [
            ("payday loan", ["the payday loan", "my short term loan", "the cash advance loan"]),
            ("installment loan", ["my installment loan", "the personal loan", "the online loan"]),
            ("loan fees", ["the origination fee", "the finance charges", "the loan cost"]),
            ("bank withdrawals", ["the automatic withdrawals", "the debits from my bank", "the ACH pulls"]),
        ],
        "problems": [
            ("unexpected interest", ["charged interest I didn't expect", "cost far more than disclosed", "had fees they never mentioned"]),
            ("keeps taking money", ["keep taking money after payoff", "continued after I revoked authorization", "were taken twice in one week"]),
            ("funds not received", ["was approved but never funded", "money never arrived", "was not deposited"]),
        ],
    },
    {
        "name": "Money transfer",
        "companies": ["Swiftline Transfers", "GlobeSend", "PayPath Wallet"],
        "context": ["I was sending money to family overseas.", "I used the app for the first time.", "The transfer was urgent.", "Their support only answers by chat."],
        "objects": [
            ("wire transfer", ["my wire transfer", "the international wire", "the bank wire"]),
            ("payment app", ["the payment app transfer", "my mobile wallet payment", "the peer to peer payment"]),
            ("money order", ["the money order", "a cashier's check", "the certified check"]),
        ],
        "problems": [
            ("scam", ["was sent to a scammer", "was part of a fraud", "went to someone who tricked me"]),
            ("not received", ["never reached the recipient", "was not delivered", "is missing"]),
            ("refund refused", ["cannot be refunded, they say", "refund was refused", "cancellation was denied"]),
        ],
    },
    {
        "name": "Prepaid card",
        "companies": ["Rainier Prepaid", "Mosaic Card Co", "Flex Reload"],
        "context": ["I use a prepaid card instead of a bank.", "I bought the card at a pharmacy.", "My benefits are loaded on this card.", "I kept the receipt from the store."],
        "objects": [
            ("prepaid card", ["my prepaid card", "the reloadable card", "the benefits card"]),
            ("gift card", ["the gift card", "a store gift card", "the holiday gift card"]),
            ("card balance", ["the card balance", "the funds on the card", "my loaded balance"]),
        ],
        "problems": [
            ("funds missing", ["disappeared overnight", "shows zero dollars", "was drained by someone"]),
            ("card blocked", ["was blocked without reason", "was suspended", "stopped working at checkout"]),
            ("card fees", ["has inactivity fees", "charges a fee to check it", "was reduced by monthly fees"]),
        ],
    },
    {
        "name": "Debt settlement",
        "companies": ["Freedom Path Relief", "ClearSlate Credit Repair", "New Leaf Settlement"],
        "context": ["I enrolled after seeing an online ad.", "They promised to cut my debt in half.", "The salesperson pressured me to sign.", "I have been in the program for a year."],
        "objects": [
            ("settlement program", ["the debt settlement program", "the relief program", "the settlement plan"]),
            ("credit repair service", ["the credit repair service", "the repair company", "their credit fixing service"]),
            ("enrollment fees", ["the enrollment fees", "the upfront fees", "the monthly program fees"]),
        ],
        "problems": [
            ("no results", ["did nothing for my debts", "produced no results", "never settled a single account"]),
            ("cancellation", ["will not let me cancel", "refuses my cancellation", "kept billing me after I quit"]),
            ("deceptive claims", ["was sold with false promises", "was advertised deceptively", "was not what they described"]),
        ],
    },
    {
        "name": "Identity theft",
        "companies": ["Sentinel Identity Guard", "Watchtower Protect", "SafeHarbor ID"],
        "context": ["Someone stole my identity last spring.", "I filed a police report.", "I placed a fraud alert on my file.", "My wallet was stolen."],
        "objects": [
            ("new account", ["a new account opened in my name", "an account I never opened", "a line of credit opened by a thief"]),
            ("fraud alert", ["the fraud alert", "my security freeze", "the credit lock"]),
            ("identity protection", ["the identity protection service", "the monitoring subscription", "the theft insurance"]),
        ],
        "problems": [
            ("not removed", ["was not removed", "is still active", "keeps reappearing"]),
            ("failed to act", ["did not stop the fraud", "failed to alert me", "was ignored by the company"]),
            ("charged anyway", ["billed me anyway", "charged me after cancellation", "renewed without consent"]),
        ],
    },
]
# fmt: on

FILLERS = [
    "I called them on XX/XX/XXXX and was told to wait.",
    "I have spent hours on the phone with no result.",
    "This has caused me a great deal of stress.",
    "Nobody at the company will take responsibility.",
    "I am asking the CFPB to help me resolve this.",
    "I was promised a call back that never came.",
    "The amount involved is {amount}.",
    "I have sent several letters by certified mail.",
    "Each representative tells me something different.",
    "I would like this corrected as soon as possible.",
    "They keep asking for documents I already sent.",
    "I followed every instruction they gave me.",
    "This started in XX/XX/XXXX and is still not fixed.",
    "I am a senior citizen on a limited budget.",
    "My emails go unanswered.",
    "I want a written explanation.",
]

OPENERS = [
    "I am writing to complain about {company}.",
    "I have a complaint about {company}.",
    "This complaint concerns {company}.",
    "I have been a customer of {company} for years.",
    "{company} has treated me unfairly.",
    "I need help with {company}.",
]

CORE = [
    "{Obj} {prob}.",
    "The issue is that {obj} {prob}.",
    "I found out that {obj} {prob}.",
    "{Obj} {prob} and nobody will fix it.",
]

VAGUE = [
    "I have a problem with {obj}.",
    "Something is wrong with {obj}.",
    "I need help with {obj}.",
]

AMOUNTS = ["{$120.00}", "{$450.00}", "{$980.00}", "{$2500.00}", "{$75.00}", "{$3100.00}"]
