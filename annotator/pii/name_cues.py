"""The multilingual column-name vocabulary, as data: which identifier tokens point at which label, and which turn
the meaning away (`email_verified` is about an e-mail but holds a flag).

Pattern syntax, one space-separated string per strength:
* `tel`            an exact identifier token (after splitting snake_case, camelCase, dotted and bracketed paths),
* `date+of+birth`  consecutive tokens,
* `~geburt`        a stem found anywhere in the squashed name ("geburtsdatum", "e_mail" -> "email"); only for
                   stems long and distinctive enough not to appear by accident inside other words.
`cue_contra` tokens cancel a matching cue ("phone_model"); `entity_contra` tokens speak against the label even
without a cue (a column called `city` full of name-like words is still a list of places).
"""

from __future__ import annotations

from annotator.pii.labels import (
    CREDIT_CARD,
    DATE_OF_BIRTH,
    EMAIL,
    GEO_LOCATION,
    IBAN,
    IP_ADDRESS,
    NATIONAL_ID,
    PASSPORT,
    PERSON_NAME,
    PHONE,
    STREET_ADDRESS,
)

STRONG, MEDIUM, WEAK = 3.0, 1.8, 0.9
CUE_CONTRA_WEIGHT = -2.5
ENTITY_CONTRA_WEIGHT = -2.0

_FLAGS = ("verified verify verification confirmed confirm valid validated validation is has flag enabled status count"
          " cnt")
_HASHES = "hash hashed md5 sha1 sha256 token tokenized fingerprint encrypted"

CUES: dict[str, dict[str, str]] = {
    EMAIL: {
        "strong": "~email ~emailadres eml courriel ~correoelectronico e+mail mailadres epost pec",
        "medium": "mail correo posta ~mailaddr",
        "weak": "contact",
        "cue_contra": f"{_FLAGS} {_HASHES} opt optin optout opted consent subscribed subscription unsubscribed bounce"
        " bounced sent send count type template format domain provider id key length len at date ts time changed"
        " updated source pref preference preferences frequency campaign open opened click clicked notification"
        " notifications marketing newsletter body subject content text html message attachment thread header list"
        " queue language lang reminder alert error reason mailing postal post box",
        "entity_contra": "",
    },
    PHONE: {
        "strong": "~phone ~telef ~telep ~telf tel tfno tlf ~rufnummer ~handynummer msisdn ~mobilnummer ~mobiltel"
        " ~telefoon ~celular ~cellulare phn mobile ph+no ph+num ph+nr tel+no tel+nr phone+no",
        "medium": "mob cell cellphone handy portable movil mobiel gsm fax ph whatsapp contact+no contact+number mobil"
        " tele",
        "weak": "contact",
        "cue_contra": f"{_FLAGS} {_HASHES} model make brand type kind os manufacturer maker case cover screen plan"
        " contract provider prefix country code dial area extension ext book call calls duration imei color colour"
        " storage memory price opt optin consent format device app browser platform version web site traffic share"
        " users",
        "entity_contra": "sku product prod part article artikel item serial order invoice ref reference barcode ean"
        " upc gtin isbn batch lot version build tracking model imei",
    },
    PERSON_NAME: {
        "strong": "~firstname ~lastname ~givenname ~familyname ~fullname surname ~vorname ~nachname ~familienname"
        " prenom ~apellido ~cognome ~voornaam ~achternaam ~sobrenome fname lname forename middlename ~maidenname"
        " ~nomcomplet ~nombrecompleto ~nomecompleto first+nm last+nm efternamn fornamn efternavn fornavn etternavn"
        " sukunimi etunimi nazwisko imie",
        "medium": "nom nombre nome naam holder cardholder ~accountholder ~contactperson ~ansprechpartner titulaire"
        " tussenvoegsel ~displayname person",
        "weak": "name nm first last",
        "qualifiers": "customer cust client kunde kunden contact person persona pessoa employee emp staff patient"
        " member owner passenger pax guest student buyer recipient sender beneficiary signer driver spouse father"
        " mother parent child contato contacto cliente klant mitarbeiter empleado dipendente funcionario applicant"
        " candidate traveler traveller insured subscriber tenant landlord doctor physician nurse teacher citizen"
        " user author manager agent emergency",
        "cue_contra": f"{_HASHES} count cnt length len initial initials id key number no nr code type",
        "entity_contra": "product prod item article artikel articulo articolo artigo sku company firm firma empresa"
        " azienda bedrijf org organisation organization business brand marca merk browser device app application"
        " file filename host hostname server machine db database city town ort ville ciudad"
        " citta stad plaats cidade municipio gemeente stadt wohnort commune comune localidad localita woonplaats"
        " country land pays pais state province region street"
        " strasse rue calle straat rua venue store shop branch bank dept department team group project category"
        " categoria kategorie tag label type event campaign course plan vessel pet animal breed species game"
        " model domain queue topic job role title login username uname handle nickname screenname service package"
        " module class function method variable sheet image color colour size unit currency language lang"
        " font theme template sector industry market plant warehouse site location station airport route carrier"
        " airline hotel school university hospital clinic pharmacy drug medication diagnosis disease exam",
    },
    STREET_ADDRESS: {
        "strong": "~streetaddress street+address postal+address mailing+address ~strasse ~strase ~anschrift"
        " ~direccion ~indirizzo ~endereco ~logradouro"
        " ~straatnaam address+line addr+line address+1 addr+1 ~addressline ~addrline ~mailingaddress"
        " ~postaladdress ~homeaddress ~billingaddress ~shippingaddress ~deliveryaddress ~residentialaddress",
        "medium": "street address addr adr adresse adres adresa domicilio direccion rue calle straat rua"
        " ~wohnadresse line1 address1 addr1",
        "weak": "line residence domicile str via",
        "cue_contra": f"{_FLAGS} {_HASHES} ip ipv4 ipv6 mac email web url uri wallet btc eth crypto contract"
        " server remote host node peer endpoint socket memory mem register bus net network link bitcoin ethereum"
        " type kind id format key lat lon lng hex validity",
        "entity_contra": "",
    },
    NATIONAL_ID: {
        "strong": "ssn ~socialsecurity ~sozialversicherung svnr rvnr ~steuerid ~steueridentifikation nino"
        " ~nationalinsurance ~nationalid natl+id ~numerosecu insee nir dni nie nif ~codicefiscale bsn"
        " ~burgerservice sofi cpf cpr pesel personnummer ~fodselsnummer aadhaar ~personalausweis ~ausweisnummer"
        " ~idcardnumber ~identitynumber",
        "medium": "~taxid tin sin nid ~personalid id+card ~idcard rg cf ~identidad ~identite secu ~citizenid",
        "weak": "id+number id+no",
        "cue_contra": f"{_FLAGS} {_HASHES} kind issuer issuing country expiry expires expiration issue issued scan"
        " image photo file last4 type",
        "entity_contra": "",
    },
    CREDIT_CARD: {
        "strong": "~creditcard ~kreditkarte ~cardnumber ~cardnum ccnum ~ccnumber cc+num cc+number cc+no ~kartennummer"
        " ~cartebancaire ~numerocarte ~cartadicredito ~cartaocredito card+no card+nr",
        "medium": "card karte carte carta ~tarjeta ~cartao pan cvv cvc cvv2 csc",
        "weak": "cc",
        "cue_contra": f"{_FLAGS} {_HASHES} type brand kind network scheme issuer bank expiry exp expires expiration"
        " month year country holder cardholder name last4 last four bin iin present design limit balance fee"
        " reward points id key gift sim business report score postcard index catalog greeting wild email bcc"
        " center centre cost",
        "entity_contra": "",
    },
    IBAN: {
        "strong": "~iban",
        "medium": "~bankaccount ~kontonummer ~rekeningnummer rib ~numerocuenta ~numeroconto",
        "weak": "konto rekening cuenta conto account+number",
        "cue_contra": f"{_FLAGS} {_HASHES} bic swift country last4 type",
        "entity_contra": "",
    },
    IP_ADDRESS: {
        "strong": "ip ~ipaddr ~ipaddress ipv4 ipv6 ~clientip ~remoteip ~sourceip ~srcip ~dstip ~hostip ~ipadresse"
        " ~ipadres",
        "medium": "remote+addr ~remoteaddr inet ~forwardedfor xff ~xforwarded",
        "weak": "peer host",
        "cue_contra": f"{_FLAGS} {_HASHES} version ver country city region geo location type kind protocol family"
        " reputation score risk asn isp org",
        "entity_contra": "",
    },
    DATE_OF_BIRTH: {
        "strong": "dob ~birth bday ~geburt gebdat gebdatum geb+datum geb+dat ~naissance ~naiss ~nacimiento fnac f+nac"
        " ~nascita ~geboorte ~nascimento dt+nasc data+nasc",
        "medium": "born ddn geb nasc nac",
        "weak": "",
        "cue_contra": f"{_FLAGS} {_HASHES} ~place ort ~geburtsort ~lieu ~lugar ~luogo local ~plaats ~country ~land"
        " ~city ~stadt ~name ~weight ~gewicht poids peso height length rate order cert certificate",
        "entity_contra": "created create creation updated update modified changed deleted inserted loaded processed"
        " order ordered purchase hire hired start started end ended signup registered registration joined join"
        " paid payment shipped ship shipping delivered delivery due expiry expires expiration exp valid validity"
        " issue issued login logon visit event transaction txn trx posted published closed opened booking booked"
        " arrival departure effective termination terminated contract invoice billing renewal cancel cancelled"
        " activated activation seen sent received accessed ts timestamp period fiscal report reported snapshot"
        " asof load batch run release launch install service maintenance inspection",
    },
    PASSPORT: {
        "strong": "~passport ~reisepass ~passeport ~pasaporte ~passaporto ~paspoort ~passaporte mrz ~passnummer",
        "medium": "ppt pass+no pass+nr ~traveldocument",
        "weak": "",
        "cue_contra": f"{_FLAGS} {_HASHES} country nationality issuing issuer issue issued expiry expires expiration"
        " exp date type scan image photo file holder name",
        "entity_contra": "",
    },
    GEO_LOCATION: {
        "strong": "lat latitude lon lng longitude ~latlng ~latlon ~latlong ~geolocation ~geopoint ~coordinates"
        " ~coordinate ~breitengrad ~laengengrad ~langengrad ~latitud ~longitud ~breedtegraad ~lengtegraad gps",
        "medium": "coords coord geo geom geometry point",
        "weak": "long location loc position pos breite laenge place",
        "cue_contra": f"{_FLAGS} {_HASHES} name city country region state id code type kind precision accuracy"
        " source provider error zone tz timezone",
        "entity_contra": "",
    },
}

# Whole squashed names that are login handles, not people's names.
HANDLE_NAMES = frozenset({"username", "usrname", "uname", "login", "loginname", "screenname", "handle", "nickname",
                          "nick", "userid", "accountname"})

# Words in a table name or comment saying its rows are people (makes person-level PII more plausible).
PERSON_TABLE_WORDS = frozenset(
    "customer customers client clients user users person persons people employee employees staff member members"
    " patient patients contact contacts kunde kunden mitarbeiter utilisateurs clientes usuarios pazienti klanten"
    " passenger passengers guest guests student students applicant applicants subscriber subscribers lead leads"
    " hr payroll personnel personal".split()
)

# Comment words that turn a mention of PII into a statement about it ("whether the e-mail was verified").
COMMENT_CONTRA = frozenset(
    "whether flag indicates indicator boolean true false verified confirmed count hash hashed masked encrypted"
    " tokenized model type".split()
)
