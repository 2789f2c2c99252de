package io.kafkaml.cli;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.domain.JavaTypeVariable;
import com.tngtech.archunit.core.domain.ThrowsDeclaration;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.lang.syntax.ArchRuleDefinition;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The rule that keeps kafkaml's public surface apart from its internals (STYLE.md item 1, as Kafka keeps
 * {@code clients/producer} apart from {@code clients/producer/internals}).
 *
 * <p>The rule: a type a user can reach (public, in a package {@code io.kafkaml.*} not under {@code internals},
 * every enclosing class public too) must not name a type of an {@code ..internals..} package in its signature:
 * superclass, interfaces, type parameter bounds, and the types (with their type arguments) of its public or
 * protected fields, constructors and methods, parameters, return types and declared exceptions. Internals may be
 * <em>used</em> anywhere in kafkaml's own modules (the CLI and the benchmarks use
 * {@code io.kafkaml.internals.LatencyHistogram}); they must never be exposed. The CLI's own package
 * ({@code io.kafkaml.cli}) and the samples are applications, not API, and are not checked.
 */
final class PublicApiRules {

    /** Package of a user-facing type: {@code io.kafkaml} and below, outside internals, the CLI and samples. */
    static final DescribedPredicate<JavaClass> PUBLIC_API = DescribedPredicate.describe(
            "are public API of kafkaml (public, in io.kafkaml.*, outside ..internals.., the CLI and samples)",
            PublicApiRules::isPublicApi);

    /** No public signature of a public API type names an internals type. */
    static final ArchRule NO_INTERNALS_IN_PUBLIC_SIGNATURES = ArchRuleDefinition.classes()
            .that(PUBLIC_API)
            .should(notExposeInternalTypes())
            .because("internals may change in any release, so a user must never be handed one");

    private PublicApiRules() {}

    static boolean isInternal(JavaClass type) {
        String pkg = type.getPackageName();
        return pkg.endsWith(".internals") || pkg.contains(".internals.");
    }

    static boolean isPublicApi(JavaClass type) {
        String pkg = type.getPackageName();
        if (!(pkg.equals("io.kafkaml") || pkg.startsWith("io.kafkaml."))
                || isInternal(type)
                || pkg.equals("io.kafkaml.cli")
                || pkg.startsWith("io.kafkaml.cli.")
                || pkg.startsWith("io.kafkaml.samples")
                || pkg.startsWith("io.kafkaml.benchmarks")) {
            return false;
        }
        if (type.isAnonymousClass() || type.isLocalClass()) {
            return false;
        }
        for (Optional<JavaClass> c = Optional.of(type);
                c.isPresent();
                c = c.get().getEnclosingClass()) {
            if (!c.get().getModifiers().contains(JavaModifier.PUBLIC)) {
                return false;
            }
        }
        return true;
    }

    private static boolean exposed(JavaMember member) {
        Set<JavaModifier> modifiers = member.getModifiers();
        return (modifiers.contains(JavaModifier.PUBLIC) || modifiers.contains(JavaModifier.PROTECTED))
                && !modifiers.contains(JavaModifier.SYNTHETIC)
                && !modifiers.contains(JavaModifier.BRIDGE);
    }

    static ArchCondition<JavaClass> notExposeInternalTypes() {
        return new ArchCondition<>("not expose types of ..internals.. packages in public signatures") {
            @Override
            public void check(JavaClass type, ConditionEvents events) {
                List<String> leaks = new ArrayList<>();
                type.getSuperclass().ifPresent(t -> collect("superclass", t, leaks));
                type.getInterfaces().forEach(t -> collect("interface", t, leaks));
                for (JavaTypeVariable<JavaClass> variable : type.getTypeParameters()) {
                    collect("type parameter " + variable.getName(), variable, leaks);
                }
                for (JavaField field : type.getFields()) {
                    if (exposed(field)) {
                        collect("field " + field.getName(), field.getType(), leaks);
                    }
                }
                for (JavaCodeUnit unit : type.getCodeUnits()) {
                    if (!exposed(unit)) {
                        continue;
                    }
                    String where =
                            unit.getName() + "(" + unit.getRawParameterTypes().size() + " parameters)";
                    collect(where + " return type", unit.getReturnType(), leaks);
                    unit.getParameterTypes().forEach(t -> collect(where + " parameter", t, leaks));
                    for (ThrowsDeclaration<? extends JavaCodeUnit> thrown : unit.getThrowsClause()) {
                        collect(where + " throws", thrown.getRawType(), leaks);
                    }
                    for (JavaTypeVariable<? extends JavaCodeUnit> variable : unit.getTypeParameters()) {
                        collect(where + " type parameter " + variable.getName(), variable, leaks);
                    }
                }
                for (String leak : leaks) {
                    events.add(SimpleConditionEvent.violated(type, type.getName() + " exposes " + leak));
                }
            }
        };
    }

    private static void collect(String where, JavaType type, List<String> leaks) {
        Set<String> internal = new TreeSet<>();
        for (JavaClass raw : type.getAllInvolvedRawTypes()) {
            if (isInternal(raw)) {
                internal.add(raw.getName());
            }
        }
        internal.forEach(name -> leaks.add(name + " in " + where));
    }
}
