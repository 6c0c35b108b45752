"""Vocabulary of the demo world: product types, their synonyms, attribute phrasings and brands.

Everything the generator writes and everything ``truth.parse`` reads comes from these tables, so
the text a model sees and the structured ground truth can never drift apart. Attribute values are
strings or bools; each value lists its surface phrasings (first = canonical).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

_INCH = {
    "1/2 in": ["1/2 in.", '0.5"', "12.7 mm", "1/2 inch"],
    "1 in": ["1 in.", '1"', "25.4 mm", "1 inch"],
    "1-1/2 in": ["1-1/2 in.", '1.5"', "38 mm", "1.5 inch"],
    "2 in": ["2 in.", '2"', "50.8 mm", "2 inch"],
    "3 in": ["3 in.", '3"', "76.2 mm", "3 inch"],
    "3-1/2 in": ["3-1/2 in.", '3.5"', "88.9 mm", "3.5 inch"],
}
_FEET = {f"{n} ft": [f"{n} ft", f"{n} ft.", f"{n}'", f"{n} foot"] for n in (6, 10, 16, 25, 50, 100)}

ATTRS: dict[str, dict[object, list[str]]] = {
    "base": {"oil": ["oil based", "oil-based", "alkyd"], "water": ["water based", "water-based", "latex", "acrylic latex"],
             "silicone": ["100% silicone", "silicone"]},
    "finish": {"flat": ["flat", "matte"], "eggshell": ["eggshell"], "satin": ["satin"], "semi-gloss": ["semi-gloss"],
               "gloss": ["high gloss", "glossy"]},
    "location": {"interior": ["interior", "indoor"], "exterior": ["exterior", "outdoor"]},
    "mildew_resistant": {True: ["mildew resistant", "mold and mildew resistant", "anti-mildew"]},
    "stain_blocking": {True: ["stain blocking", "stain-blocking", "odor blocking"]},
    "color": {"dark walnut": ["dark walnut"], "golden oak": ["golden oak"], "ebony": ["ebony"], "clear": ["clear"],
              "white": ["white", "bright white finish"]},
    "dimmable": {True: ["dimmable"], False: ["non-dimmable", "not dimmable", "no dimmer"]},
    "color_temp": {"soft white": ["soft white", "2700K", "warm white"], "daylight": ["daylight", "5000K", "cool daylight"],
                   "bright white": ["bright white", "3000K"]},
    "bulb_shape": {"A19": ["A19"], "BR30": ["BR30", "flood"], "candelabra": ["candelabra", "E12 base"]},
    "watt_eq": {w: [f"{w} equivalent", f"{w[:-1]} watt equivalent", f"{w} eq"] for w in ("40W", "60W", "100W")},
    "cordless": {True: ["cordless", "battery powered", "battery-powered"], False: ["corded", "plug-in", "cord"]},
    "voltage": {v: [v, f"{v[:-1]} volt", f"{v[:-1]}-volt"] for v in ("12V", "18V", "20V")},
    "pet_safe": {True: ["pet safe", "pet-friendly", "safe around pets"]},
    "formula": {"chemical": ["chemical", "synthetic", "fast-acting chemical"],
                "natural": ["natural", "non-toxic", "plant-based", "botanical", "organic", "enzyme"]},
    "scent": {"lemon": ["lemon", "lemon scented", "citrus"], "lavender": ["lavender", "lavender scented"],
              "pine": ["pine", "pine scented"], "unscented": ["unscented", "fragrance free", "scent free"]},
    "material": {"stainless": ["stainless steel", "stainless"], "zinc": ["zinc plated", "zinc"], "brass": ["solid brass", "brass"],
                 "galvanized": ["galvanized", "hot-dip galvanized"], "wood": ["solid wood", "wooden", "wood"],
                 "metal": ["metal", "steel frame", "iron"], "plastic": ["plastic", "nylon"], "mesh": ["mesh", "breathable mesh"],
                 "leather": ["leather", "faux leather"], "fabric": ["fabric", "upholstered"], "rubber": ["rubber", "heavy duty rubber"],
                 "vinyl": ["vinyl", "pvc"], "foam": ["foam", "closed cell foam"], "fiberglass": ["fiberglass"]},
    "metal_finish": {"chrome": ["chrome", "polished chrome"], "brushed nickel": ["brushed nickel", "satin nickel"],
                     "matte black": ["matte black", "black"], "oil rubbed bronze": ["oil rubbed bronze", "bronze"]},
    "size": _INCH,
    "length_ft": _FEET,
    "volume": {"1 qt": ["1 qt", "1 quart", "32 oz", "946 mL"], "1 gal": ["1 gal", "1 gallon", "128 oz", "3.78 L"],
               "5 gal": ["5 gal", "5 gallon", "18.9 L"]},
    "use": {"wood": ["wood"], "drywall": ["drywall"], "deck": ["deck", "exterior deck"], "framing": ["framing"],
            "finishing": ["finishing", "trim"], "concrete": ["concrete", "masonry"]},
    "humane": {True: ["humane", "live catch", "catch and release", "no-kill"], False: ["snap", "quick-kill"]},
    "bagless": {True: ["bagless"], False: ["bagged", "bags"]},
    "pet_hair": {True: ["pet hair", "pet hair pro"]},
    "power_source": {"hardwired": ["hardwired", "hard-wired"], "battery": ["battery operated", "10-year battery"]},
    "co_combo": {True: ["smoke and carbon monoxide", "smoke and CO", "combo"]},
    "lock_type": {"keyed": ["keyed", "keyed entry", "key lock", "key"], "keypad": ["keypad", "keyless", "electronic keypad"],
                  "smart": ["smart", "wi-fi", "wifi"]},
    "mount": {"countertop": ["countertop", "counter top"], "over-the-range": ["over the range", "over-the-range", "OTR"],
              "pitcher": ["pitcher"], "faucet-mount": ["faucet mount", "tap mount"], "under-sink": ["under sink", "under-sink"]},
    "pump": {True: ["with pump", "built-in pump"]},
    "capacity": {c: [c, c.replace(" ", "-"), c.replace("pint", "pt")] for c in ("30 pint", "50 pint")},
    "heater_type": {"ceramic": ["ceramic"], "radiator": ["oil-filled radiator", "oil filled", "radiator"],
                    "infrared": ["infrared", "quartz infrared"]},
    "tip_over": {True: ["tip-over shutoff", "tip over protection", "auto shut-off"]},
    "lube_type": {"penetrating": ["penetrating oil", "penetrating", "multi-use"], "silicone": ["silicone spray", "silicone"],
                  "lithium": ["white lithium grease", "lithium grease", "lithium"], "graphite": ["dry graphite", "graphite"]},
    "merv": {m: [f"MERV {m}", f"MERV-{m}"] for m in ("8", "11", "13")},
    "filter_size": {s: [s, s.replace("x", " x ")] for s in ("16x25x1", "20x20x1", "20x25x1")},
    "has_light": {True: ["with light", "LED light kit", "light kit"], False: ["without light", "no light"]},
    "remote": {True: ["with remote", "remote control"]},
    "room": {"kitchen": ["kitchen"], "bathroom": ["bathroom", "bath", "lavatory"]},
    "touchless": {True: ["touchless", "motion sensor", "hands-free"]},
    "universal": {True: ["universal", "fits most toilets"]},
    "self_closing": {True: ["self-closing", "spring loaded"]},
    "paintable": {True: ["paintable"]},
    "gauge": {"16": ["16 gauge", "16/3", "16 AWG"], "12": ["12 gauge", "12/3", "12 AWG"]},
    "capacity_wh": {w: [w, f"{w[:-2]} watt hours"] for w in ("300Wh", "500Wh", "1000Wh")},
    "solar": {True: ["solar ready", "solar compatible", "with solar panel"]},
    "lumbar": {True: ["lumbar support", "ergonomic lumbar"]},
    "shelves": {"3": ["3-shelf", "3 tier"], "5": ["5-shelf", "5 tier"]},
    "target": {"lawn": ["lawn", "turf"], "vegetable": ["vegetable", "tomato"], "flower": ["flower", "bloom booster"]},
    "selective": {True: ["selective", "lawn safe", "safe for lawns"], False: ["non-selective", "total vegetation", "kills grass", "kill grass"]},
    "lead_free": {True: ["lead free", "lead-free", "drinking water safe"]},
    "septic_safe": {True: ["septic safe", "safe for septic"]},
    "bag_size": {b: [b.replace("gal", "gallon"), b] for b in ("13 gal", "30 gal", "39 gal")},
    "drawstring": {True: ["drawstring"], False: ["flap tie"]},
    "mop_type": {"spin": ["spin", "spin bucket"], "spray": ["spray", "spray trigger"], "steam": ["steam"]},
    "weight": {"16 oz": ["16 oz", "16-ounce"], "20 oz": ["20 oz", "20-ounce"]},
    "magnetic": {True: ["magnetic tip", "magnetic"]},
    "wattage": {"900W": ["900W", "900 watt"], "1100W": ["1100W", "1100 watt"]},
    "lead_reduction": {True: ["lead reduction", "NSF 53", "removes lead"]},
    "low_flow": {True: ["low flow", "water saving", "1.8 GPM"]},
    "handheld": {True: ["handheld", "hand held"]},
    "mist": {"cool": ["cool mist"], "warm": ["warm mist"]},
    "fire_class": {"ABC": ["ABC", "multipurpose"], "K": ["class K", "kitchen grease"]},
    "he": {True: ["HE", "high efficiency"]},
    "foaming": {True: ["foaming", "foam jet"]},
    "plunger_type": {"flange": ["flange", "bellows"], "cup": ["cup", "sink"]},
}

NEGATION_WORDS = frozenset({"not", "no", "non", "without", "isn't", "isnt", "aren't", "arent", "never", "don't", "dont",
                            "doesn't", "doesnt", "won't", "wont", "w/o", "free", "nothing"})
PRICE_WORDS = ("budget", "cheap", "cheaper", "affordable", "inexpensive", "value", "economy", "low cost", "bargain")
TIERS = ("premium", "mid", "budget")


@dataclass(frozen=True)
class TypeDef:
    """One product type: how it is named, which attributes it has, what it costs, how it is described."""

    name: str
    category: str
    synonyms: tuple[str, ...]
    attrs: dict[str, tuple] = field(default_factory=dict)
    price: float = 20.0
    blurbs: tuple[str, ...] = ()


def _t(name: str, cat: str, syn: str, attrs: dict, price: float, blurbs: str) -> TypeDef:
    return TypeDef(name, cat, tuple(s.strip() for s in syn.split(",")), {k: tuple(v) for k, v in attrs.items()}, price,
                   tuple(b.strip() + "." for b in blurbs.split(".") if b.strip()))


B = F = (True, False)
TYPES: tuple[TypeDef, ...] = (
    _t("paint", "Paint", "paint, wall paint, house paint, paint can", {"base": ["water", "oil"], "finish": ["flat", "eggshell", "satin", "semi-gloss", "gloss"], "location": ["interior", "exterior"], "mildew_resistant": B, "volume": ["1 qt", "1 gal", "5 gal"]}, 38,
       "One-coat coverage hides old colors. Low odor formula dries to the touch in an hour. Scrubbable finish resists scuffs. Tintable to thousands of colors"),
    _t("primer", "Paint", "primer, paint primer, undercoat, primer sealer", {"base": ["water", "oil"], "location": ["interior", "exterior"], "stain_blocking": B, "volume": ["1 qt", "1 gal", "5 gal"]}, 28,
       "Seals porous surfaces before painting. Improves topcoat adhesion. Sands easily once dry"),
    _t("wood stain", "Paint", "wood stain, stain, wood finish stain, penetrating stain", {"base": ["water", "oil"], "location": ["interior", "exterior"], "color": ["dark walnut", "golden oak", "ebony", "clear"], "volume": ["1 qt", "1 gal"]}, 26,
       "Penetrates deep into wood grain. Enhances natural grain patterns. Resists fading from sun"),
    _t("caulk", "Paint", "caulk, sealant, caulking, bathtub caulk", {"base": ["silicone", "water"], "mildew_resistant": B, "paintable": B, "color": ["white", "clear"]}, 8,
       "Flexible seal that will not crack or shrink. Seals gaps around tubs, sinks and windows. Easy tooling and cleanup"),
    _t("paint brush", "Paint", "paint brush, paintbrush, angled sash brush, brush set", {"size": ["1 in", "2 in", "3 in"]}, 12,
       "Tapered bristles for crisp lines. Comfortable grip handle. Works with all paints and stains"),
    _t("light bulb", "Lighting", "light bulb, LED bulb, bulb, lamp, A19 bulb, LED light bulb", {"dimmable": F, "color_temp": ["soft white", "daylight", "bright white"], "bulb_shape": ["A19", "BR30", "candelabra"], "watt_eq": ["40W", "60W", "100W"]}, 9,
       "Uses a fraction of the energy of incandescent bulbs. Rated for 15,000 hours. Instant on with no flicker"),
    _t("bulb changer", "Lighting", "bulb changer, light bulb changer pole, bulb changing kit", {"length_ft": ["6 ft", "10 ft", "16 ft"]}, 24,
       "Reach high ceilings without a ladder. Suction and basket heads included. Telescoping pole locks in place"),
    _t("ceiling fan", "Lighting", "ceiling fan, fan, paddle fan", {"location": ["interior", "exterior"], "has_light": F, "remote": B, "metal_finish": ["brushed nickel", "matte black", "oil rubbed bronze"]}, 160,
       "Quiet reversible motor for year round comfort. Balanced blades reduce wobble. Easy installation on standard boxes"),
    _t("faucet", "Plumbing", "faucet, tap, sink faucet, faucet fixture", {"metal_finish": ["chrome", "brushed nickel", "matte black", "oil rubbed bronze"], "room": ["kitchen", "bathroom"], "touchless": B}, 120,
       "Ceramic disc cartridge for drip-free performance. Spot resistant finish. Installs with standard supply lines"),
    _t("toilet flapper", "Plumbing", "toilet flapper, flapper, flush valve flapper, tank flapper", {"size": ["2 in", "3 in"], "universal": B}, 7,
       "Creates a tight seal in the tank. Chlorine resistant rubber. Installs in minutes without tools"),
    _t("fill valve", "Plumbing", "fill valve, toilet fill valve, ballcock, toilet tank valve", {"universal": B}, 14,
       "Quiet fill with adjustable height. Refills the tank quickly. Anti-siphon design"),
    _t("toilet brush", "Plumbing", "toilet brush, bowl brush, toilet bowl brush", {"material": ["plastic", "stainless"]}, 11,
       "Stiff bristles reach under the rim. Comes with a drip holder. Compact for small bathrooms"),
    _t("plunger", "Plumbing", "plunger, toilet plunger, sink plunger", {"plunger_type": ["flange", "cup"]}, 13,
       "Strong suction clears tough clogs. Long handle keeps hands away. Rubber cup flexes to seal"),
    _t("shower head", "Plumbing", "shower head, showerhead, rain shower head", {"low_flow": B, "handheld": B, "metal_finish": ["chrome", "brushed nickel", "matte black"]}, 45,
       "Multiple spray settings. Anti-clog nozzles wipe clean. Tool-free installation"),
    _t("water filter", "Plumbing", "water filter, drinking water filter, filtration system", {"mount": ["pitcher", "faucet-mount", "under-sink"], "lead_reduction": B}, 40,
       "Reduces chlorine taste and odor. Replacement cartridges are easy to swap. Certified filtration media"),
    _t("drain cleaner", "Cleaning", "drain cleaner, drain opener, clog remover", {"formula": ["chemical", "natural"], "septic_safe": B}, 9,
       "Works through standing water. Dissolves hair and grease. Safe for pipes when used as directed"),
    _t("screws", "Hardware", "screws, screw, fasteners", {"material": ["stainless", "zinc", "brass"], "size": ["1 in", "1-1/2 in", "2 in", "3 in"], "use": ["wood", "drywall", "deck"]}, 9,
       "Sharp point starts fast without pre-drilling. Deep threads grip firmly. Box keeps spares organized"),
    _t("nails", "Hardware", "nails, nail, brads", {"material": ["galvanized", "zinc", "stainless"], "size": ["1 in", "2 in", "3 in", "3-1/2 in"], "use": ["framing", "finishing", "deck"]}, 8,
       "Smooth shank drives straight. Consistent heads for a clean look. Bulk pack for big projects"),
    _t("anchors", "Hardware", "anchors, wall anchors, drywall anchors, wall plugs", {"material": ["plastic", "metal"], "use": ["drywall", "concrete"], "size": ["1 in", "1-1/2 in"]}, 7,
       "Holds shelves and mirrors securely. Screws included. Installs with a standard drill"),
    _t("door hinge", "Hardware", "door hinge, hinge, butt hinge", {"metal_finish": ["chrome", "brushed nickel", "matte black", "oil rubbed bronze"], "size": ["3-1/2 in"], "self_closing": B}, 10,
       "Smooth swing with steel pin. Mounting screws included. Rounded corners fit most doors"),
    _t("door lock", "Hardware", "door lock, deadbolt, entry lock, lockset", {"lock_type": ["keyed", "keypad", "smart"], "metal_finish": ["brushed nickel", "matte black", "oil rubbed bronze"]}, 70,
       "Grade 2 security rating. Fits standard doors. Reversible for left or right hand doors"),
    _t("weatherstrip", "Hardware", "weatherstrip, weather stripping, door seal, draft stopper", {"material": ["foam", "rubber", "vinyl"], "length_ft": ["10 ft", "16 ft"]}, 9,
       "Blocks drafts and dust. Self-adhesive backing. Cuts to length with scissors"),
    _t("lubricant", "Hardware", "lubricant, lube, lubricating spray, spray lubricant", {"lube_type": ["penetrating", "silicone", "lithium", "graphite"]}, 7,
       "Loosens stuck parts fast. Displaces moisture. Precision straw for tight spots"),
    _t("ant bait", "Pest Control", "ant bait, ant killer, ant trap, ant bait stations", {"formula": ["chemical", "natural"], "pet_safe": B, "location": ["interior", "exterior"]}, 9,
       "Ants carry bait back to the colony. Child resistant stations. Starts working within hours"),
    _t("mouse trap", "Pest Control", "mouse trap, mousetrap, rodent trap, mice trap", {"humane": B, "pet_safe": B}, 10,
       "Sensitive trigger for quick catches. Reusable and easy to set. No touch disposal"),
    _t("wasp spray", "Pest Control", "wasp spray, hornet spray, wasp killer", {"formula": ["chemical", "natural"], "foaming": B}, 7,
       "Sprays up to 20 feet away. Knocks down on contact. Clings to nests"),
    _t("mosquito repellent", "Pest Control", "mosquito repellent, bug spray, insect repellent", {"formula": ["chemical", "natural"]}, 8,
       "Long lasting protection. Non-greasy feel. Travel size bottle"),
    _t("weed killer", "Lawn & Garden", "weed killer, herbicide, weed spray", {"selective": F, "formula": ["chemical", "natural"], "pet_safe": B}, 18,
       "Visible results in hours. Rainproof after it dries. Ready to use trigger sprayer"),
    _t("fertilizer", "Lawn & Garden", "fertilizer, plant food, lawn food", {"formula": ["chemical", "natural"], "target": ["lawn", "vegetable", "flower"], "pet_safe": B}, 22,
       "Feeds for up to three months. Promotes deep roots. Easy to spread"),
    _t("garden hose", "Lawn & Garden", "garden hose, hose, water hose", {"material": ["rubber", "vinyl"], "lead_free": B, "length_ft": ["25 ft", "50 ft", "100 ft"]}, 35,
       "Kink resistant construction. Crush proof brass couplings. Stays flexible in cold weather"),
    _t("all-purpose cleaner", "Cleaning", "all-purpose cleaner, multi-surface cleaner, cleaner, household cleaner, cleaning spray", {"scent": ["lemon", "lavender", "pine", "unscented"], "formula": ["chemical", "natural"], "pet_safe": B}, 6,
       "Cuts grease and grime. Streak free on most surfaces. Spray and wipe"),
    _t("mop", "Cleaning", "mop, floor mop, mop kit", {"mop_type": ["spin", "spray", "steam"]}, 30,
       "Microfiber pads trap dust and dirt. Swivel head reaches under furniture. Machine washable pads"),
    _t("trash bags", "Cleaning", "trash bags, garbage bags, bin liners, kitchen bags", {"bag_size": ["13 gal", "30 gal", "39 gal"], "scent": ["lemon", "lavender", "unscented"], "drawstring": F}, 14,
       "Tear resistant plastic. Fits standard cans. Value count box"),
    _t("laundry detergent", "Cleaning", "laundry detergent, detergent, laundry soap", {"scent": ["lavender", "lemon", "unscented"], "he": B}, 15,
       "Lifts tough stains in cold water. Rinses clean. Concentrated formula"),
    _t("dish soap", "Cleaning", "dish soap, dishwashing liquid, dish detergent", {"scent": ["lemon", "lavender", "unscented"], "formula": ["chemical", "natural"]}, 5,
       "Cuts through grease. Gentle on hands. A little goes a long way"),
    _t("vacuum", "Cleaning", "vacuum, vacuum cleaner, stick vacuum, upright vacuum", {"cordless": F, "bagless": F, "pet_hair": B}, 180,
       "Strong suction on carpets and hard floors. HEPA filtration traps allergens. Lightweight and easy to maneuver"),
    _t("vacuum bags", "Cleaning", "vacuum bags, replacement vacuum bags, vacuum filter bags", {}, 12,
       "Replacement bags for upright vacuums. Traps fine dust. Easy to change"),
    _t("drill", "Tools", "drill, power drill, drill driver, drill/driver", {"cordless": F, "voltage": ["12V", "18V", "20V"]}, 95,
       "Two speed gearbox for drilling and driving. LED work light. Keyless chuck for quick bit changes"),
    _t("drill bits", "Tools", "drill bits, drill bit set, bit set", {"material": ["stainless", "metal"]}, 20,
       "Titanium coated for long life. Split point prevents walking. Storage case included"),
    _t("circular saw", "Tools", "circular saw, saw, skill saw", {"cordless": F, "voltage": ["18V", "20V"]}, 130,
       "Cuts 2x lumber in one pass. Electric brake stops the blade fast. Bevel adjusts to 50 degrees"),
    _t("hammer", "Tools", "hammer, claw hammer, framing hammer", {"material": ["fiberglass", "wood", "metal"], "weight": ["16 oz", "20 oz"]}, 22,
       "Balanced head for accurate strikes. Anti-vibration grip. Curved claw pulls nails"),
    _t("tape measure", "Tools", "tape measure, measuring tape, tape rule", {"length_ft": ["16 ft", "25 ft"], "magnetic": B}, 14,
       "Easy to read markings. Blade lock holds position. Belt clip included"),
    _t("maintenance kit", "Tools", "power station maintenance kit, generator maintenance kit, tune-up kit, tool kit", {}, 25,
       "Spark plug, air filter and oil funnel in one box. Keeps small engines running. Storage pouch included"),
    _t("space heater", "Heating & Cooling", "space heater, heater, portable heater, electric heater", {"heater_type": ["ceramic", "radiator", "infrared"], "tip_over": B}, 60,
       "Heats a room in minutes. Adjustable thermostat. Cool touch housing"),
    _t("dehumidifier", "Heating & Cooling", "dehumidifier, moisture remover, dehumidifier unit", {"capacity": ["30 pint", "50 pint"], "pump": B}, 210,
       "Pulls moisture from the air. Auto shutoff when the bucket is full. Washable filter"),
    _t("humidifier", "Heating & Cooling", "humidifier, room humidifier, mist humidifier", {"mist": ["cool", "warm"]}, 45,
       "Whisper quiet operation. Large tank runs all night. Easy to clean"),
    _t("air filter", "Heating & Cooling", "air filter, furnace filter, HVAC filter, AC filter", {"merv": ["8", "11", "13"], "filter_size": ["16x25x1", "20x20x1", "20x25x1"]}, 18,
       "Captures dust and pollen. Lasts up to three months. Electrostatically charged fibers"),
    _t("microwave", "Appliances", "microwave, microwave oven", {"mount": ["countertop", "over-the-range"], "wattage": ["900W", "1100W"]}, 150,
       "Sensor cooking adjusts time automatically. Turntable for even heating. Easy clean interior"),
    _t("office chair", "Furniture", "office chair, desk chair, task chair, computer chair", {"material": ["mesh", "leather", "fabric"], "lumbar": B}, 140,
       "Adjustable height and tilt. Smooth rolling casters. Supports long work sessions"),
    _t("bookshelf", "Furniture", "bookshelf, bookcase, shelving unit, book shelf", {"material": ["wood", "metal"], "shelves": ["3", "5"]}, 90,
       "Sturdy shelves hold books and decor. Simple assembly. Anti-tip hardware included"),
    _t("smoke detector", "Safety", "smoke detector, smoke alarm, fire alarm", {"power_source": ["hardwired", "battery"], "co_combo": B}, 28,
       "Loud 85 decibel alarm. Test button checks the unit. Fits standard mounting plates"),
    _t("fire extinguisher", "Safety", "fire extinguisher, extinguisher", {"fire_class": ["ABC", "K"]}, 40,
       "Easy to read pressure gauge. Wall bracket included. Simple pull and squeeze operation"),
    _t("extension cord", "Electrical", "extension cord, power cord, extension cable", {"location": ["interior", "exterior"], "length_ft": ["6 ft", "25 ft", "50 ft"], "gauge": ["16", "12"]}, 20,
       "Lighted end shows when power is on. Flexible jacket. Grounded plug"),
    _t("power station", "Electrical", "portable power station, power station, battery generator, portable generator", {"capacity_wh": ["300Wh", "500Wh", "1000Wh"], "solar": B}, 450,
       "Powers laptops, lights and small appliances. Multiple AC and USB outlets. Quiet with no fumes"),
)
TYPE_BY_NAME: dict[str, TypeDef] = {t.name: t for t in TYPES}
CATEGORIES: tuple[str, ...] = tuple(sorted({t.category for t in TYPES}))

_PREMIUM = {"vacuum": ["Dysonic", "Mielen"], "drill": ["DeWalton", "Milwauk"], "circular saw": ["DeWalton", "Festtool"],
            "paint": ["Benjamin Moor", "Farrow Hale"], "faucet": ["Kohlstein", "Moentra"], "office chair": ["Hermano Miller", "Steelcraft"],
            "power station": ["Jackery Pro", "Goalzen"], "microwave": ["Brevilla", "Panasonix"], "space heater": ["Vornado Elite", "Delonga"]}
_SYL = ["ka", "lo", "ver", "tri", "ma", "zen", "dor", "pi", "qua", "rex", "sol", "ti", "na", "bri", "co", "vel", "mar", "ost", "ul", "gra"]


def make_brands(seed: int = 1234, syllables: list[str] | None = None, fixed_premium: dict[str, list[str]] | None = None,
                avoid: frozenset[str] = frozenset()) -> dict[str, dict[str, tuple[str, ...]]]:
    """Brands per type and tier from a fixed RNG (not the world seed), so brand names are stable everywhere.

    The defaults give the standard world's brands; a shifted world passes another seed and syllable
    set and ``avoid`` (the standard names) to get a disjoint brand set."""
    syllables = _SYL if syllables is None else syllables
    fixed_premium = _PREMIUM if fixed_premium is None else fixed_premium
    rng, used, out = random.Random(seed), set(avoid), {}
    for t in TYPES:
        tiers = {}
        for tier, n in (("premium", 2), ("mid", 3), ("budget", 3)):
            names = list(fixed_premium.get(t.name, [])) if tier == "premium" else []
            while len(names) < n:
                name = "".join(rng.choice(syllables) for _ in range(rng.choice((2, 3)))).capitalize()
                name += "" if tier != "budget" else rng.choice(["", " Basics", " Value", " Home"])
                if name not in used and len(name) > 4:
                    used.add(name)
                    names.append(name)
            tiers[tier] = tuple(names)
        out[t.name] = tiers
    return out


BRANDS: dict[str, dict[str, tuple[str, ...]]] = make_brands()
BRAND_TIER: dict[str, str] = {b: tier for tiers in BRANDS.values() for tier, bs in tiers.items() for b in bs}


def value_phrases(attr: str, value: object) -> list[str]:
    """Surface phrasings of an attribute value (empty when the value is never written out)."""
    return ATTRS.get(attr, {}).get(value, [])


def has_negation(text: str) -> bool:
    """Whether a phrase carries a negation word (head queries and positive rewrites avoid these)."""
    toks = text.lower().replace("-", " ").split()
    return any(t in NEGATION_WORDS for t in toks)
