"""Column-name pools for the evaluation set, per concept and language (or locale).

Deliberately mixed: the obvious English names, local-language names, cryptic abbreviations seen in real schemas,
camelCase, and some names the classifier's vocabulary does not know (`fone`, `mel`, `kaartnummer`, `nominativo`,
`efternamn`), where the values must do the work.
"""

from __future__ import annotations

POOLS: dict[str, dict[str, list[str]]] = {
    "first": {
        "en": ["first_name", "fname", "given_name", "firstName", "cust_first_nm", "FirstName"],
        "de": ["vorname", "first_name", "Vorname"], "fr": ["prenom", "first_name"],
        "es": ["nombre", "first_name", "nombre_pila"], "it": ["nome", "first_name"], "nl": ["voornaam", "first_name"],
        "pt": ["nome", "primeiro_nome", "first_name"], "sv": ["fornamn", "first_name"], "pl": ["imie", "first_name"],
    },
    "last": {
        "en": ["last_name", "surname", "lname", "family_name", "lastName"],
        "de": ["nachname", "familienname"], "fr": ["nom", "nom_famille"],
        "es": ["apellido", "apellidos", "primer_apellido"], "it": ["cognome"], "nl": ["achternaam", "last_name"],
        "pt": ["sobrenome", "ultimo_nome"], "sv": ["efternamn", "last_name"], "pl": ["nazwisko", "last_name"],
    },
    "full_name": {
        "en": ["full_name", "name", "customer_name", "contact_name", "account_holder"],
        "de": ["name", "kunde_name", "vollstaendiger_name"], "fr": ["nom_complet", "nom"],
        "es": ["nombre_completo", "nombre"], "it": ["nome_completo", "nominativo"],
        "nl": ["naam", "volledige_naam"], "pt": ["nome_completo", "nome"],
    },
    "email": {
        "en": ["email", "c_eml", "email_address", "e_mail", "contact_email", "EmailAddr", "cust_email"],
        "de": ["email", "e_mail_adresse", "mail"], "fr": ["courriel", "email", "adresse_mail", "mel"],
        "es": ["correo", "correo_electronico", "email"], "it": ["email", "posta_elettronica", "indirizzo_email"],
        "nl": ["email", "emailadres", "e_mailadres"], "pt": ["email", "e_mail", "correio_eletronico"],
    },
    "phone": {
        "en": ["phone", "cust_ph_no", "phone_number", "tel", "mobile", "cell_phone", "contact_no", "PhoneNumber"],
        "de": ["telefon", "telefonnummer", "handy", "tel_nr", "mobilnummer"],
        "fr": ["telephone", "tel", "portable", "num_tel"], "es": ["telefono", "movil", "tlf", "telefono_movil"],
        "it": ["telefono", "cellulare", "tel"], "nl": ["telefoon", "telefoonnummer", "mobiel", "tel_nr"],
        "pt": ["telefone", "celular", "fone"], "sv": ["telefon", "mobil"], "pl": ["telefon", "phone"],
    },
    "dob": {
        "en": ["dob", "date_of_birth", "birth_date", "birthday", "bday", "birthDt", "DOB_DT"],
        "de": ["geburtsdatum", "geb_datum", "gebdat", "geburtstag"],
        "fr": ["date_naissance", "date_de_naissance", "date_naiss", "ddn"],
        "es": ["fecha_nacimiento", "f_nac", "fec_nac", "fecha_nac"],
        "it": ["data_nascita", "data_di_nascita", "dt_nascita"], "nl": ["geboortedatum", "geb_datum"],
        "pt": ["data_nascimento", "dt_nasc", "nascimento"],
    },
    "street": {
        "en": ["street", "address", "address_line1", "addr1", "street_address", "addr_line_1", "mailing_address"],
        "de": ["strasse", "anschrift", "adresse", "str_hnr"], "fr": ["adresse", "rue", "adresse_postale"],
        "es": ["direccion", "calle", "domicilio"], "it": ["indirizzo", "via", "residenza"],
        "nl": ["straat", "adres", "straatnaam"], "pt": ["endereco", "logradouro", "rua"],
    },
    "city": {
        "en": ["city", "town"], "de": ["ort", "stadt", "wohnort"], "fr": ["ville"], "es": ["ciudad", "municipio"],
        "it": ["citta", "comune"], "nl": ["plaats", "woonplaats"], "pt": ["cidade", "municipio"],
    },
    "postcode": {
        "en": ["zip", "postcode", "zip_code"], "de": ["plz", "postleitzahl"], "fr": ["code_postal", "cp"],
        "es": ["codigo_postal", "cp"], "it": ["cap"], "nl": ["postcode"], "pt": ["cep"],
    },
    "national_id": {
        "en_US": ["ssn", "social_security_number", "ssn_no", "soc_sec_no"],
        "en_GB": ["nino", "ni_number", "national_insurance_no", "nat_ins_no"],
        "de_DE": ["steuer_id", "steuerid", "steuer_identnr", "tax_id"],
        "fr_FR": ["nir", "numero_secu", "num_secu_sociale", "insee"],
        "es_ES": ["dni", "nif", "dni_nie", "documento_identidad"],
        "it_IT": ["codice_fiscale", "cf", "cod_fisc"], "nl_NL": ["bsn", "burgerservicenummer", "sofinummer"],
        "pt_BR": ["cpf", "cpf_cliente", "num_cpf"], "en": ["national_id"],
    },
    "passport": {
        "en": ["passport_no", "passport_number", "passport", "ppt_no"],
        "de": ["reisepass_nr", "passnummer", "pass_nr"], "fr": ["num_passeport", "passeport"],
        "es": ["pasaporte", "num_pasaporte"], "it": ["passaporto", "num_passaporto"],
        "nl": ["paspoortnummer", "paspoort_nr"], "pt": ["passaporte", "num_passaporte"],
    },
    "card": {
        "en": ["card_number", "cc_num", "pan", "credit_card", "card_no", "ccnumber", "CardNumber"],
        "de": ["kartennummer", "kreditkarte", "card_number"], "fr": ["numero_carte", "carte_bancaire"],
        "es": ["numero_tarjeta", "tarjeta"], "it": ["numero_carta", "carta_credito"],
        "nl": ["kaartnummer", "creditcard"], "pt": ["numero_cartao", "cartao_credito"],
    },
    "iban": {
        "en": ["iban", "iban_no", "iban_nr", "account_iban", "bank_iban"], "de": ["iban", "konto_iban"],
        "fr": ["iban", "compte_iban"], "es": ["iban", "cuenta_iban"], "it": ["iban", "iban_conto"],
        "nl": ["iban", "rekening_iban"], "pt": ["iban", "iban_conta"],
    },
    "ip": {
        "en": ["ip", "client_ip", "ip_address", "remote_addr", "src_ip", "ipAddress", "last_login_ip"],
    },
    "notes": {
        "en": ["notes", "remarks", "memo"], "de": ["bemerkung", "notizen", "notes"], "fr": ["commentaire", "notes"],
        "es": ["observaciones", "notas"], "it": ["note", "annotazioni"], "nl": ["opmerkingen", "notities"],
        "pt": ["observacoes", "notas"],
    },
    "comment": {
        "en": ["comment", "description", "details"], "de": ["kommentar", "beschreibung"], "fr": ["remarque"],
        "es": ["comentario"], "it": ["commento"], "nl": ["commentaar"], "pt": ["comentario"],
    },
}

# (latitude name, longitude name) pairs.
GEO_PAIRS: dict[str, list[tuple[str, str]]] = {
    "en": [("lat", "lon"), ("latitude", "longitude"), ("geo_lat", "geo_lng"), ("lat", "lng"), ("latitude", "long"),
           ("lat_deg", "lon_deg")],
    "de": [("breitengrad", "laengengrad"), ("lat", "lon")], "es": [("latitud", "longitud"), ("lat", "lng")],
    "it": [("latitudine", "longitudine"), ("lat", "lon")], "pt": [("latitude", "longitude")],
}

UNNAMED_STYLES = ["col_{i}", "f{i}", "field_{i}", "c{i}", "attr_{i}", "x{i}", "column{i}"]
